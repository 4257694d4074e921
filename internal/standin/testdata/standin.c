/* A stand-in for a certified reader vendor's library: the heasec, sscard and
 * nationec exports with their national signatures. What each call does is read from
 * the control file named by $STANDIN_CTL at every call, so a test steers it by
 * rewriting that file:
 *   card <basic string>   ReadCardBas/iReadCardBas return 0 and the string
 *   sfz <sfz string>      ReadSFZ returns 0 and the string; ReadCardBas: no card
 *   ec <json>             NationEcTrans returns 0 and the JSON
 *   crash                 the next call dereferences NULL (SIGSEGV)
 *   hang                  the next call never returns
 *   (anything else)       no card: return -1 with a message
 * Init fails without "IP" in its JSON (its message in GBK, as the vendors' are), writes
 * noise to stdout as some vendors do (GBK too), and
 * appends its JSON to $STANDIN_CTL.inits (one line per call). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char ctl[8192];
static int inits;

static void load(void) {
	const char *p = getenv("STANDIN_CTL");
	ctl[0] = 0;
	if (!p) return;
	FILE *f = fopen(p, "rb");
	if (!f) return;
	size_t n = fread(ctl, 1, sizeof ctl - 1, f);
	ctl[n] = 0;
	fclose(f);
	while (n > 0 && (ctl[n-1] == '\n' || ctl[n-1] == '\r')) ctl[--n] = 0;
}

static int misbehave(void) {
	if (strcmp(ctl, "crash") == 0) { volatile int *z = 0; *z = 1; }
	if (strcmp(ctl, "hang") == 0) { for (;;) sleep(1); }
	return 0;
}

static int answer(const char *verb, char *out) {
	size_t k = strlen(verb);
	misbehave();
	if (strncmp(ctl, verb, k) == 0 && ctl[k] == ' ') { strcpy(out, ctl + k + 1); return 0; }
	strcpy(out, "no card in the reader");
	return -1;
}

int Init(const char *in, char *err) {
	printf("standin: %s vendor noise on stdout\n", "\xb6\xc1\xbf\xa8\xc6\xf7"); /* GBK: 读卡器 */
	fflush(stdout);
	if (!strstr(in, "\"IP\"")) { strcpy(err, "\xb3\xf5\xca\xbc\xbb\xaf\xca\xa7\xb0\xdc\xa3\xba" "IP missing"); /* GBK: 初始化失败： */ return -11; }
	inits++;
	const char *p = getenv("STANDIN_CTL");
	if (p) { /* one line per Init in $STANDIN_CTL.inits, for the tests to count */
		char path[4096];
		snprintf(path, sizeof path, "%s.inits", p);
		FILE *f = fopen(path, "a");
		if (f) { fputs(in, f); fputc('\n', f); fclose(f); }
	}
	return 0;
}

int InitCount(void) { return inits; }

int ReadCardBas(char *out, char *busi) {
	load();
	busi[0] = 0;
	if (!inits) { misbehave(); strcpy(out, "not initialised"); return -12; }
	return answer("card", out);
}

int ReadSFZ(const char *photo, char *out, char *busi) {
	load();
	busi[0] = 0;
	if (!inits) { misbehave(); strcpy(out, "not initialised"); return -12; }
	return answer("sfz", out);
}

int iReadCardBas(int type, char *out) {
	load();
	if (type < 1 || type > 4) { strcpy(out, "bad type"); return -13; }
	return answer("card", out);
}

int NationEcTrans(const char *url, const char *in, char *out) {
	load();
	if (!strstr(in, "ec.query")) { strcpy(out, "{\"code\":-1,\"message\":\"not ec.query\"}"); return 0; }
	return answer("ec", out);
}
