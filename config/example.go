package config

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Example returns a commented example configuration: the keys of cli.md set, every
// other key shown commented out with its default. It holds no secret values, only
// "env:" references; Parse accepts it when those variables are set.
func Example() string {
	return strings.NewReplacer(
		"{{DATA}}", DefaultDataDir(),
		"{{CONF}}", DefaultPath(),
		"{{READER}}", DefaultReaderPort(),
	).Replace(exampleText)
}

const exampleText = `# settle-agent configuration ({{CONF}}).
# Every key has a default that suits a single-window install; the commented-out
# lines show the defaults. Unknown keys are errors.
#
# Any key of a single-table section can be overridden by an environment variable
# SETTLE_AGENT_<SECTION>_<KEY>, e.g. SETTLE_AGENT_PLATFORM_BASE_URL or
# SETTLE_AGENT_OFFLINE_POLICY.
#
# Secrets (platform.token, api.admin_token, store.key, store.old_keys, window tokens)
# may be written inline, or better as "file:PATH" (the file's content; keep it
# chmod 600) or "env:NAME" (an environment variable). They are never printed.

[hospital]
fixmedins_code = "H33010200001"     # 12 characters, given by the platform
fixmedins_name = "Example People's Hospital"
admdvs = "330100"                    # treatment area (mdtrt_area_admvs), 6 digits
# msgid_node = -1                    # 0-9 when several agents share one fixmedins_code

[platform]
base_url = "https://10.1.2.3:8080"   # https://, or http:// only on a link without TLS
timeout = "3s"
paasid = ""                          # empty: no x-tif-* signing
token = "env:SETTLE_AGENT_PLATFORM_TOKEN"   # signing token; required with paasid
ca_file = ""                         # PEM CA of the platform; empty: system roots
# path = "/fsi/api/rsfComIfsService/callService"
# cert_file = ""                     # client certificate (PEM), with key_file
# key_file = ""
# insecure_skip_verify = false       # never in production
# recer_sys_code = "YBXT"
# infver = "V1.0"
# probe_interval = "5s"              # how often to probe while offline
# breaker_threshold = 3              # failed calls in a row before going offline
# probe_cert_type = ""               # with probe_cert_no: probe with 1101 of a test person
# probe_cert_no = ""                 #   instead of 9001 sign-in
# paths = { "2207" = "/fsi/api/outpatientSettleService/saveSettletmentV2" }   # per-infno path
#                                    #   (or a [platform.paths] table); others use path
# file_in_array = false              # 9101 sends the file as an array of bytes, not base64
# phrases = { original_not_found = ["原交易不存在"], already_settled = ["已结算"], session_expired = ["签到编号"], nothing_to_cancel = ["无可撤销"], already_registered = ["已挂号"], already_discharged = ["已办理出院"], not_discharged = ["未出院"], lines_differ = ["不符"], envelope_refused = ["解密失败", "验签失败"] }
#                                    #   the province's err_msg wordings of the refusals the
#                                    #   agent acts on; a list given replaces that kind's
#                                    #   defaults (docs/platform.md)

# [platform.crypto]                  # 国密 envelopes, only where the province requires them (docs/platform.md);
#                                    #   a table, or inline in [platform]: crypto = { mode = "sm4", ... }
# mode = ""                          # "" plain JSON | "sm4": input/output SM4-encrypted (enctype SM4)
# app_id = ""                        # the app id the province issued (16 characters or more)
# app_secret = ""                    # the app secret it issued: "file:/etc/settle-agent/app_secret" or "env:NAME"
# sign = ""                          # "" | "sm3" | "sm2": signtype, the signature in cainfo
# private_key_file = ""              # sign = "sm2": the hospital's SM2 private key (PEM)
# platform_public_key_file = ""      # the platform's SM2 public key: its answers must then be signed
# sm2_user_id = "1234567812345678"
# encoding = "hex"                   # ciphertext as hex (default) or base64
# cipher = "ecb"                     # SM4 ecb (default) or cbc with iv
# iv = ""                            # cbc: 16 characters or 32 hex digits

[api]
listen = "127.0.0.1:8420"
admin_token = "env:SETTLE_AGENT_ADMIN_TOKEN"   # or "file:/etc/settle-agent/admin.token"
# tls_cert = ""                      # with tls_key: serve HTTPS
# tls_key = ""
# client_ca = ""                     # with TLS: require client certificates it signed
# max_body_bytes = 1048576
# rate_limit = 50.0                  # requests per second per client
# read_timeout = "10s"
# write_timeout = "60s"              # longer than the 30 s card wait
# idle_timeout = "2m0s"
# language = "zh"                    # the status page's language: zh (中文) or en (?lang= overrides)
# host_names = []                    # more names the status page answers under, e.g. ["settle.hospital.local"]

[store]
dir = '{{DATA}}'
# key = "file:/etc/settle-agent/store.key"   # base64 of 32 random bytes: openssl rand -base64 32
# old_keys = []                      # earlier keys, still read after a rotation
# retention = "720h0m0s"             # settled records are kept this long

# One [[window]] per cashier window. Each needs its own token.
[[window]]
id = "W01"
name = "Window 1"
token = "env:SETTLE_AGENT_W01_TOKEN"   # or "file:/etc/settle-agent/w01.token"
reader = { port = '{{READER}}', baud = 9600, protocol = "frame" }
# scanner = { port = "/dev/ttyACM0", baud = 9600, protocol = "line" }   # optional QR scanner
# Port keys and defaults: port, baud = 9600, data_bits = 8, parity = "N", stop_bits = 1,
# protocol = "frame" (reader) | "line" (scanner), read_timeout = "500ms".
# A vendor library reader instead of a port (docs/readers.md), and a reader on the cashier's PC:
# e.g. reader = { library = "/opt/vendor/libHeaSecReadInfo.so", interface = "heasec", card_type = 3, init = { IP = "10.1.2.3", PORT = 7020, TIMEOUT = 6, LOG_PATH = "", SFZ_DRIVER_TYPE = 0 }, init_json = "", poll = "500ms", deadline = "5s", no_sfz = false, host_exe = "" }
# e.g. reader = { remote = true }    # then run settle-agent reader-host on the cashier PC

# [evoucher]                        # the e-voucher decode service (ec.query) for scanned QR codes
# mode = "http"                      # "" off | http | library (NationECCode); inferred from base_url/url/library
# base_url = "https://ec.example.gov.cn"   # url defaults to base_url + /localcfc/api/hsecfc/localQrCodeQuery
# url = "https://ec.example.gov.cn/localcfc/api/hsecfc/localQrCodeQuery"
# library = ""                       # mode library: NationECCode.dll / libNationECCode.so
# host_exe = ""                      # mode library: the reader-host executable
# timeout = "5s"
# operator_id = ""
# operator_name = ""
# office_id = ""
# office_name = ""
# device_type = ""

[offline]
policy = "full"                      # full | estimate | refuse
deadline = "3s"                      # longest a cashier waits for the platform
max_bill_amount = "2000.00"          # policy estimate: larger bills are collected in full
max_outstanding_amount = "50000.00"  # offline total not yet settled
retry_horizon = "168h"               # unsent after this long: dead
# default_ratio = "0.70"             # fund ratio for estimates before a real settlement
# inpatient = "defer"                # stays settled offline: defer (202 queued, the deposit covers) | refuse

# [sync]
# concurrency = 8                    # bills uploaded at once when the platform is back
# rate_per_second = 200.0

[mapping]
# The HIS-to-national item code mapping (目录对照) CSV; empty: HIS codes are national codes.
# A dry run with 'settle-agent sim platform' can use examples/dryrun/mapping.csv of the
# source tree (the simulator's catalogue); examples/dryrun/settle-agent.toml is a whole
# dry-run configuration.
file = ""                            # e.g. "/etc/settle-agent/mapping.csv"

[catalogue]
# sync_at = "02:30"                  # daily catalogue sync, local time (off-peak); "" off
# max_age = "48h"                    # the status page and doctor warn when older
# page_size = 100                    # page_size of the paged queries 1312-1319
# upload_shape = "object"            # 3301 envelope: object (data{}) | array (data[]) | catalogcompin
# upload_batch = 100                 # rows per 3301 in the array shapes (at most 100)

[hl7]
listen = ""                          # e.g. "127.0.0.1:2575"; empty: off
# MLLP has no authentication: listen on 127.0.0.1, or on the address facing the HIS
# with allow_from naming the HIS host (and a firewall rule), never 0.0.0.0 on a LAN.
# allow_from = []                    # e.g. ["10.1.2.3", "10.1.2.0/24"]; empty: any address
# windows = []                       # windows this listener takes bills for; empty: every one
# tls_cert = ""                      # MLLP over TLS when set, with tls_key
# tls_key = ""
# default_med_type = "11"
# default_window = ""                # window for messages without PV1-3
# inpatient_window = ""              # window for inpatient messages (ADT, PV1-2 "I"); empty: default_window, else the first window
# idle_timeout = "5m0s"              # closed after this long without a whole message
# frame_timeout = "30s"              # a message must be whole this long after its first byte
# max_message_bytes = 1048576
# max_conns = 64
# max_conns_per_host = 32
# message_rate = 20.0                # bills a second over all connections; more: AE "resend later"

[dropfolder]
dir = ""                             # empty: off
# encoding = "utf-8"                 # utf-8 | gbk
# quiet_time = "2s"                  # a file unchanged this long is read
# poll_interval = "1s"
# default_window = ""
# windows = []                       # windows the folder takes bills for; empty: every one
# max_file_bills = 5000              # a file with more bills goes to error/ whole

# [cluster]                          # a group of front-end machines on etcd (docs/cluster.md);
#                                    #   without this section: one machine, one bbolt file
# node = "fe1"                       # this front-end's name in the group, [a-z0-9-]{1,32}
# node_digit = 1                     # 0-9, unique in the group: first digit of its msgids
# etcd = "embedded"                  # embedded (this agent runs a member) | external
# peers = ["fe1=http://127.0.0.1:2380"]   # every member as name=peer URL; between machines
#                                    #   https://, e.g. "fe2=https://10.0.0.2:2380"
# client_url = "http://127.0.0.1:2379"   # embedded: where this member serves etcd clients
# endpoints = []                     # external: ["https://etcd1:2379", ...]
# ca_file = ""                       # TLS for peer and client traffic: required on any
# cert_file = ""                     #   address but loopback
# key_file = ""
# quota_bytes = 2147483648           # etcd's quota, at most 8589934592 (8 GiB)
# lease = "2s"                       # a silent node's leadership ends this long after
# history = "1h"                     # etcd history kept before the leader compacts it
# defrag_interval = "24h"            # how often the leader defragments every member

# [log]
# level = "info"                     # debug | info | warn | error
# format = "text"                    # text | json
# file = ""                          # empty: stderr; else rotated at max_size_mb
# max_size_mb = 100
# max_backups = 5
`

// Redacted returns the effective configuration as TOML, every secret shown as
// "<redacted>" (with its reference in a comment), for doctor and the log.
func (c *Config) Redacted() string {
	var buf bytes.Buffer
	src := c.Path
	if src == "" {
		src = c.src.name
	}
	if src == "" {
		src = "defaults"
	}
	fmt.Fprintf(&buf, "# effective configuration from %s; secrets redacted\n", src)
	for _, s := range c.secretFields() {
		if ref := s.s.Ref(); ref != "" {
			fmt.Fprintf(&buf, "# %s from %s\n", s.field, ref)
		}
	}
	enc := toml.NewEncoder(&buf).SetIndentTables(false)
	if err := enc.Encode(c); err != nil {
		fmt.Fprintf(&buf, "# cannot encode: %v\n", err)
	}
	return buf.String()
}
