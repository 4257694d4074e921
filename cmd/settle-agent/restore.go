package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
)

const restoreUsage = "restore [--config FILE] [--replace] [--lang zh|en] DIR"

// runRestore is `settle-agent restore DIR`: it checks the backup's manifest and
// checksums, refuses while the agent runs, refuses over a store unless --replace
// (which keeps the old files aside), then puts the store and its key into the
// configured data folder. The queued bills of the restored store are sent when the
// agent starts.
func runRestore(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "restore", restoreUsage+"\n\n"+
		"Puts a backup made by `settle-agent backup` into the configured data folder ([store] dir).\n"+
		"Stop the agent first. Over an existing store only with --replace: the old store and key are\n"+
		"renamed to *.before-restore-<time> beside them, not deleted.")
	configPath := fs.String("config", config.DefaultPath(), "the agent's configuration file")
	replace := fs.Bool("replace", false, "replace the store already in the data folder (kept aside, not deleted)")
	lang := fs.String("lang", "zh", "language of the messages: zh (中文) or en")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	t := staffText(*lang)
	if len(pos) != 1 {
		return fmt.Errorf("%w: %s", errUsage, t("say which backup folder to restore", "请指定要恢复的备份文件夹"))
	}
	dir := pos[0]
	m, err := checkBackup(dir, t)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, env.getenv)
	if cfg == nil {
		return fmt.Errorf("%s %s: %w", t("configuration", "配置文件"), *configPath, err)
	}
	if cfg.Store.Dir == "" {
		return errors.New(t("the configuration has no [store] dir", "配置文件没有 [store] dir"))
	}
	if agentRunning(cfg) {
		return errors.New(t("the agent is running and holds "+cfg.Store.Dir+": stop it first (settle-agent stop), then restore",
			"服务正在运行并占用 "+cfg.Store.Dir+"：请先停止服务（settle-agent stop），再恢复"))
	}
	target := cfg.DataPath(store.File)
	if _, err := os.Stat(target); err == nil && !*replace {
		return errors.New(t("the data folder already holds a store ("+target+"); to replace it with the backup add --replace (the old one is kept aside)",
			"数据目录已有数据库（"+target+"）；如确要以备份替换，请加 --replace（旧文件会改名保留）"))
	}
	backupKey := ""
	if m.Key != "" {
		b, err := os.ReadFile(filepath.Join(dir, store.KeyFile))
		if err != nil {
			return err
		}
		backupKey = strings.TrimSpace(string(b))
	}
	// A configured key must open the restored store; else the store.key goes with it.
	writeKey := backupKey != "" && !cfg.Store.Key.IsSet()
	if backupKey != "" && cfg.Store.Key.IsSet() && !keyConfigured(cfg, backupKey) {
		return errors.New(t("the backup's store is sealed with a key this configuration does not name: put the backup's store.key in [store] key (or old_keys), then restore",
			"备份的数据库用另一个密钥加密，本配置中没有：请把备份中的 store.key 写入 [store] key（或 old_keys）后再恢复"))
	}
	if err := os.MkdirAll(cfg.Store.Dir, 0o750); err != nil {
		return err
	}
	stamp := time.Now().In(settle.Beijing).Format("20060102-150405")
	var keptAside []string
	aside := func(name string) error {
		p := cfg.DataPath(name)
		if _, err := os.Stat(p); err != nil {
			return nil
		}
		to := p + ".before-restore-" + stamp
		if err := os.Rename(p, to); err != nil {
			return err
		}
		keptAside = append(keptAside, to)
		return nil
	}
	if err := aside(store.File); err != nil {
		return err
	}
	if writeKey {
		if err := aside(store.KeyFile); err != nil {
			return err
		}
	}
	for _, f := range m.Files {
		if f.Name == store.KeyFile && !writeKey {
			continue
		}
		if err := copyChecked(filepath.Join(dir, f.Name), cfg.DataPath(f.Name), f); err != nil {
			return fmt.Errorf("%s %s: %w", t("restore", "恢复"), f.Name, err)
		}
	}
	if err := syncDir(cfg.Store.Dir); err != nil {
		return err
	}
	// The restored file opens as a store and holds what the manifest says.
	q, err := queue.Open(target, &queue.Options{NoSweep: true, OpenTimeout: 500 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("%s: %w", t("the restored store does not open", "恢复后的数据库无法打开"), err)
	}
	st, err := q.Stats()
	q.Close()
	if err != nil {
		return err
	}
	if st.Ready != m.Counts["queue"]["ready"] || st.Failed != m.Counts["queue"]["failed"] {
		return fmt.Errorf("%s: ready %d, failed %d; manifest ready %d, failed %d", t("the restored queue differs from the manifest", "恢复后的队列与清单不符"),
			st.Ready, st.Failed, m.Counts["queue"]["ready"], m.Counts["queue"]["failed"])
	}
	fmt.Fprintf(env.stdout, t("restored the backup of %s (%s) into %s\n", "已将 %s 的备份（%s）恢复到 %s\n"), m.Source, m.CreatedBeijing, cfg.Store.Dir)
	printCounts(env.stdout, m.Counts, *lang)
	for _, p := range keptAside {
		fmt.Fprintf(env.stdout, t("kept aside: %s\n", "旧文件已保留：%s\n"), p)
	}
	fmt.Fprintln(env.stdout, t("start the agent (settle-agent start): it sends the queued bills and stays, and downloads the catalogue again.",
		"请启动服务（settle-agent start）：队列中的账单和住院业务将自动上传，目录将重新下载。"))
	return nil
}

// checkBackup reads dir's manifest and checks every file it names against its size
// and SHA-256, before anything is changed.
func checkBackup(dir string, t func(en, zh string) string) (*backupManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t(dir+" is not a finished backup (no "+manifestFile+")", dir+" 不是完整的备份（没有 "+manifestFile+"）"), err)
	}
	var m backupManifest
	if err := json.Unmarshal(b, &m); err != nil || m.Format != manifestFormat {
		return nil, fmt.Errorf("%s (format %q)", t(manifestFile+" is not a settle-agent backup manifest", manifestFile+" 不是本程序的备份清单"), m.Format)
	}
	hasStore := false
	for _, f := range m.Files {
		if f.Name != store.File && f.Name != store.KeyFile {
			return nil, fmt.Errorf("%s: %q", t("the manifest names an unexpected file", "清单中有意外的文件"), f.Name)
		}
		hasStore = hasStore || f.Name == store.File
		n, sum, err := fileSHA256(filepath.Join(dir, f.Name))
		if err != nil {
			return nil, err
		}
		if n != f.Bytes || sum != f.SHA256 {
			return nil, fmt.Errorf("%s: %s (%d bytes, sha256 %s; manifest %d bytes, %s)", t("the backup is damaged", "备份已损坏"), f.Name, n, sum, f.Bytes, f.SHA256)
		}
	}
	if !hasStore {
		return nil, errors.New(t("the manifest names no store file", "清单中没有数据库文件"))
	}
	return &m, nil
}

// keyConfigured reports whether key is the configuration's store key or one of its old keys.
func keyConfigured(cfg *config.Config, key string) bool {
	if cfg.Store.Key.Equal(key) {
		return true
	}
	for _, k := range cfg.Store.OldKeys {
		if k.Equal(key) {
			return true
		}
	}
	return false
}

func fileSHA256(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// copyChecked copies src to dst (owner only) through a temporary name, syncs it,
// checks it against the manifest's entry, and only then gives it its name.
func copyChecked(src, dst string, want backupFile) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".restoring"
	os.Remove(tmp)
	got, err := writeFileSynced(tmp, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
	if err != nil {
		return err
	}
	if got.Bytes != want.Bytes || got.SHA256 != want.SHA256 {
		os.Remove(tmp)
		return fmt.Errorf("written copy differs from the backup (%d bytes, %s)", got.Bytes, got.SHA256)
	}
	return os.Rename(tmp, dst)
}
