#!/usr/bin/env bash
# A throw-away Samba AD DC on loopback for tests (see docs: shared/docs/samba-ad.md).
#
#   scripts/samba-ad.sh install      install the Debian packages if samba is missing (root)
#   scripts/samba-ad.sh up <dir>     start a fresh domain CORP / CORP.EXAMPLE.TEST in <dir>, write <dir>/env.json
#   scripts/samba-ad.sh down <dir>   stop it and remove <dir>
#
# Provisioning takes ~7 s and the fixtures a few more, so the domain is provisioned once into a
# cached template (.tools/samba-template, rebuilt whenever this script changes) and copied per
# run; each run then gets fresh random passwords for the accounts tests bind with, its own CA and
# server certificate, and its own loopback address (127.0.0.1 if free, else 127.0.0.11, .12, ...)
# so that several test runs on one machine never share or kill each other's directory.
# Environment: SAMBA_IP forces the address; SAMBA_OWNER_PID is the process whose death makes a
# running instance stale (default: the caller), so the next `up` reaps instances of dead runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/samba-ad.sh"
TEMPLATE="${SAMBA_TEMPLATE_DIR:-$ROOT/.tools/samba-template}"
# One registry per machine, not per checkout: two clones testing at once must see each other's
# servers (a per-checkout registry once let one clone stop the other's samba as "unregistered").
RUNS="${SAMBA_RUNS_DIR:-/tmp/incident-bot-samba-runs}"
REALM=CORP.EXAMPLE.TEST
DOMAIN=CORP
# Samba's python bindings live in the system python, whatever python3 comes first on PATH.
# (On a machine without samba yet, `head` fails: that must not stop `install` under pipefail.)
PY="$( (head -1 "$(command -v samba-tool 2>/dev/null || echo /usr/bin/samba-tool)" 2>/dev/null || true) | sed -n 's/^#! *//p' | awk '{print $1}')"
[ -x "${PY:-}" ] || PY=/usr/bin/python3

log() { echo "samba-ad: $*" >&2; }
die() { log "$*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (Samba AD DC needs it)"; }
installed() { command -v samba >/dev/null 2>&1 && command -v samba-tool >/dev/null 2>&1; }

cmd_install() {
  need_root
  if installed && command -v openssl >/dev/null 2>&1; then log "samba already installed: $(samba -V)"; return 0; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # samba-ad-provision is only a Recommends of samba-ad-dc: name it, or provisioning has no templates.
  apt-get install -y -qq --no-install-recommends samba-ad-dc samba-ad-provision ldb-tools openssl >/dev/null
  log "installed $(samba -V)"
}

# --- template --------------------------------------------------------------------------------

template_version() { sha256sum "$SELF" | cut -c1-16; }

build_template() {
  local tmp="$TEMPLATE.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp/log" "$tmp/run"
  : > "$tmp/empty.conf" # an empty config, so Debian's /etc/samba/smb.conf is never inherited
  log "provisioning the template domain (once; ~10 s)"
  # The admin password given here is replaced by a random one in every run (set_run_secrets).
  samba-tool domain provision -s "$tmp/empty.conf" --targetdir="$tmp" \
    --realm="$REALM" --domain="$DOMAIN" --host-name=dc1 --server-role=dc --dns-backend=NONE --use-rfc2307 \
    --adminpass="$(gen_password)" \
    --option="interfaces = 127.0.0.1/8" --option="bind interfaces only = yes" \
    --option="log file = $tmp/log/log.%m" --option="pid directory = $tmp/run" \
    --option="ncalrpc dir = $tmp/run/ncalrpc" --option="winbindd socket directory = $tmp/run/winbindd" \
    > "$tmp/log/provision.log" 2>&1 || { tail -20 "$tmp/log/provision.log" >&2; die "provision failed"; }
  # LDAP only; and without `old password allowed period = 0` the previous password keeps binding
  # for 60 minutes after a reset (provision drops it when given as --option).
  sed -i 's/^\tserver services = .*/\tserver services = ldap\n\told password allowed period = 0/' "$tmp/etc/smb.conf"
  "$PY" - "$tmp/etc/smb.conf" <<'PY' >"$tmp/log/fixtures.log" 2>&1 || { tail -20 "$tmp/log/fixtures.log" >&2; die "fixtures failed"; }
import sys, secrets, string
import ldb
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.auth import system_session
from samba.sd_utils import SDUtils
from samba.dcerpc import security
from samba.ndr import ndr_unpack

lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
mail_domain = "corp.example.test"

def password():
    # Fixture passwords are never recorded: tests that need to bind as a fixture user reset it.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20)) + "aA1-"

def replace(dn, attr, value):
    m = ldb.Message(); m.dn = ldb.Dn(db, dn)
    m[attr] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, attr)
    db.modify(m)

def sid_of(dn):
    res = db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["objectSid"])
    return str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))

# Password policy: complexity stays on (tests rely on real policy errors); no minimum age, so a
# test may reset the same account twice.
replace(base, "minPwdAge", "0")

staff = "OU=Staff," + base
service_ous = "OU=ServiceAccounts," + base
db.create_ou(staff, description="People the bot may act on")
db.create_ou(service_ous, description="Service accounts")

# The bot's own bind account, delegated through a group on OU=Staff only.
db.newuser("svc-incidentbot", password(), userou="OU=ServiceAccounts", givenname="Incident", surname="Bot",
           useusernameascn=True, description="incident-bot LDAP bind account")
db.newgroup("IncidentBot Delegation", description="Delegated rights on OU=Staff for incident-bot")
db.add_remove_group_members("IncidentBot Delegation", ["svc-incidentbot"], add_members_operation=True)
delegate = sid_of("CN=IncidentBot Delegation,CN=Users," + base)
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
aces = "".join([
    f"(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;{USER_CLASS};{delegate})",  # Reset-Password
    f"(OA;CIIO;RPWP;bf967a68-0de6-11d0-a285-00aa003049e2;{USER_CLASS};{delegate})",  # userAccountControl
    f"(OA;CIIO;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;{USER_CLASS};{delegate})",  # pwdLastSet
    f"(OA;CIIO;RPWP;28630ebf-41d5-11d1-a9c1-0000f80367c1;{USER_CLASS};{delegate})",  # lockoutTime
])
SDUtils(db).dacl_add_ace(staff, aces)

def user(sam, given, surname, ou="OU=Staff", mail=True):
    db.newuser(sam, password(), userou=ou, givenname=given, surname=surname, useusernameascn=None,
               mailaddress=f"{given}.{surname}@{mail_domain}".lower().replace(" ", "") if mail else None)

user("jdoe", "John", "Doe")
user("jdoering", "John", "Doering")       # "John Doe" is ambiguous by display name
user("asmith", "Alice", "Smith")
db.newuser("zmuller", password(), userou="OU=Staff", givenname="Zoë", surname="Müller", useusernameascn=None,
           mailaddress="zoe.mueller@" + mail_domain)
# A CN with a comma: samba-tool cannot make one, a rename can.
user("jadoe", "Jane", "Doe")
db.rename(ldb.Dn(db, "CN=Jane Doe," + staff), ldb.Dn(db, "CN=Doe\\, Jane," + staff))
replace("CN=Doe\\, Jane," + staff, "displayName", "Doe, Jane")
for i in range(1, 11):
    user(f"test{i:02d}", "Test", f"User{i:02d}")   # one per test that mutates, so files never collide
user("disabled01", "Dora", "Disabled")
replace("CN=Dora Disabled," + staff, "userAccountControl", "514")
# Privileged people inside the delegated OU: Samba has no SDProp, so the delegation reaches them
# and only the bot's own guard rails stand between an analyst's click and a Domain Admin.
user("padmin", "Paula", "Admin")
db.add_remove_group_members("Domain Admins", ["padmin"], add_members_operation=True)
replace("CN=Paula Admin," + staff, "adminCount", "1")
user("nnested", "Nina", "Nested")
db.newgroup("Tier0 Operators", description="Nested into Domain Admins")
db.add_remove_group_members("Tier0 Operators", ["nnested"], add_members_operation=True)
db.add_remove_group_members("Domain Admins", ["Tier0 Operators"], add_members_operation=True)
# Outside the delegated OU: the bot may read but not modify.
user("outsider", "Oscar", "Outsider", ou="CN=Users")
db.newgroup("SOC Analysts", description="Analysts allowed to approve actions")
db.add_remove_group_members("SOC Analysts", ["asmith", "jdoe"], add_members_operation=True)
print("fixtures done")
PY
  rm -f "$tmp/empty.conf"
  template_version > "$tmp/.version"
  echo "$tmp" > "$tmp/.path"
  rm -rf "$TEMPLATE"; mv "$tmp" "$TEMPLATE"
}

ensure_template() {
  mkdir -p "$(dirname "$TEMPLATE")"
  exec 8>"$TEMPLATE.lock"
  flock 8 # concurrent runs wait for one build
  if [ ! -f "$TEMPLATE/.version" ] || [ "$(cat "$TEMPLATE/.version")" != "$(template_version)" ]; then
    build_template
  fi
  flock -u 8; exec 8>&-
}

gen_password() {
  # 24 random alphanumerics plus one of each class: always meets AD complexity; no quotes or
  # backslashes, so it can be written into JSON and LDIF as is.
  printf '%s%s' "$(openssl rand -base64 48 | tr -dc 'A-Za-z0-9' | head -c 24)" 'aZ7-'
}

# --- run registry: one entry per loopback address --------------------------------------------

alive() { [ -n "${1:-}" ] && [ "$1" != 0 ] && kill -0 "$1" 2>/dev/null; }

stop_pid() {
  local pid="$1" i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

samba_pid_of() { [ -f "$1/run/samba.pid" ] && tr -dc '0-9' < "$1/run/samba.pid" || true; }

is_samba() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = samba ]; }

reap_stale() {
  mkdir -p "$RUNS"
  local entry owner dir pid
  for entry in "$RUNS"/*; do
    [ -d "$entry" ] || continue
    owner="$(cat "$entry/owner" 2>/dev/null || echo 0)"
    dir="$(cat "$entry/dir" 2>/dev/null || true)"
    if [ "$owner" = 0 ] || alive "$owner"; then continue; fi
    pid="$(samba_pid_of "$dir")"
    if [ -n "$pid" ] && is_samba "$pid"; then log "stopping stale samba $pid ($dir)"; stop_pid "$pid"; fi
    [ -n "$dir" ] && [ -f "$dir/etc/smb.conf" ] && rm -rf "$dir"
    rm -rf "$entry"
  done
}

listening() { ss -Hltn "sport = :636" 2>/dev/null | awk '{print $4}' | grep -qx "$1:636"; }

claim_ip() {
  local dir="$1" owner="$2" ip candidates
  if [ -n "${SAMBA_IP:-}" ]; then candidates="$SAMBA_IP"; else candidates="127.0.0.1 $(seq -f '127.0.0.%g' 11 60)"; fi
  for ip in $candidates; do
    if listening "$ip"; then
      # A samba nobody registered (e.g. started by hand and forgotten) is in the way: stop it.
      if [ -n "${SAMBA_IP:-}" ] || [ ! -d "$RUNS/$ip" ]; then
        local pid; pid="$(ss -Hltnp "sport = :636" | grep -F "$ip:636" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
        if [ -n "$pid" ] && is_samba "$pid" && [ ! -d "$RUNS/$ip" ]; then log "stopping unregistered samba $pid on $ip"; stop_pid "$pid"; fi
      fi
      listening "$ip" && continue
    fi
    if mkdir "$RUNS/$ip" 2>/dev/null; then # atomic: two concurrent `up`s never get the same address
      echo "$owner" > "$RUNS/$ip/owner"; echo "$dir" > "$RUNS/$ip/dir"
      echo "$ip"; return 0
    fi
  done
  die "no free loopback address for LDAPS (tried: $candidates)"
}

# --- up / down ---------------------------------------------------------------------------------

make_tls() {
  local tls="$1" ip="$2"
  mkdir -p "$tls"; chmod 700 "$tls"
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=incident-bot samba test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    printf 'subjectAltName=IP:%s,IP:127.0.0.1,IP:::1,DNS:localhost,DNS:dc1.corp.example.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$ip" > server.ext
    openssl req -newkey rsa:2048 -nodes -keyout key.pem -out server.csr -subj "/CN=dc1.corp.example.test" 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 -extfile server.ext 2>/dev/null
    rm -f server.csr server.ext ca.srl ca.key # nobody may sign more certificates with this CA
    chmod 600 key.pem
  )
}

set_run_secrets() {
  # Offline on the copied database (the server is not running yet), one python process: new
  # random passwords for the two accounts tests bind with, then env.json.
  "$PY" - "$@" <<'PY'
import sys, json
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.auth import system_session
conf, env_file, ip, ca_file, admin_pw, svc_pw = sys.argv[1:7]
lp = LoadParm(); lp.load(conf)
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
db.setpassword("(sAMAccountName=Administrator)", admin_pw)
db.setpassword("(sAMAccountName=svc-incidentbot)", svc_pw)
env = {
    "ldapUrl": f"ldaps://{ip}:636",
    "ldapPlainUrl": f"ldap://{ip}:389",
    "host": ip,
    "caFile": ca_file,
    "baseDn": base,
    "domain": "CORP",
    "realm": "CORP.EXAMPLE.TEST",
    "adminDn": "CN=Administrator,CN=Users," + base,
    "adminPassword": admin_pw,
    "serviceBindDn": "CN=svc-incidentbot,OU=ServiceAccounts," + base,
    "servicePassword": svc_pw,
    "staffOu": "OU=Staff," + base,
}
with open(env_file, "w") as f:
    json.dump(env, f, indent=2)
PY
  chmod 600 "$2"
}

wait_tls() {
  local ip="$1" ca="$2" pid="$3" i
  for i in $(seq 1 150); do
    alive "$pid" || return 1
    if timeout 2 openssl s_client -connect "$ip:636" -CAfile "$ca" -verify_return_error -brief </dev/null >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

cmd_up() {
  local dir="${1:-}"; [ -n "$dir" ] || die "usage: up <dir>"
  need_root; installed || die "samba is not installed: run scripts/samba-ad.sh install"
  local started=$SECONDS owner="${SAMBA_OWNER_PID:-$PPID}"
  dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"
  # A previous run left in this very directory.
  local old; old="$(samba_pid_of "$dir")"
  if [ -n "$old" ] && is_samba "$old"; then log "stopping samba $old left in $dir"; stop_pid "$old"; fi
  reap_stale
  ensure_template
  local ip; ip="$(claim_ip "$dir" "$owner")"
  if [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/etc/smb.conf" ]; then rm -rf "$RUNS/$ip"; die "$dir is not empty and not a samba-ad.sh directory"; fi
  find "$dir" -mindepth 1 -delete
  cp -a "$TEMPLATE/." "$dir/"
  local tpath; tpath="$(cat "$TEMPLATE/.path")"
  sed -i -e "s#$tpath#$dir#g" -e "s#^\tinterfaces = .*#\tinterfaces = $ip/8#" "$dir/etc/smb.conf"
  make_tls "$dir/private/tls" "$ip"
  set_run_secrets "$dir/etc/smb.conf" "$dir/env.json" "$ip" "$dir/private/tls/ca.pem" "$(gen_password)" "$(gen_password)"
  rm -f "$dir/run/samba.pid"
  setsid samba -s "$dir/etc/smb.conf" -M single -F --no-process-group --debug-stdout -d 1 \
    </dev/null >"$dir/log/samba.out" 2>&1 &
  local pid=$!
  echo "$pid" > "$dir/run/samba.pid"
  if ! wait_tls "$ip" "$dir/private/tls/ca.pem" "$pid"; then
    tail -20 "$dir/log/samba.out" >&2
    stop_pid "$pid"; rm -rf "$RUNS/$ip"
    die "samba did not answer LDAPS on $ip:636"
  fi
  log "up on ldaps://$ip:636 (pid $pid) in $((SECONDS - started)) s; env: $dir/env.json"
}

cmd_down() {
  local dir="${1:-}"; [ -n "$dir" ] || die "usage: down <dir>"
  [ -d "$dir" ] || return 0
  dir="$(cd "$dir" && pwd)"
  local pid; pid="$(samba_pid_of "$dir")"
  if [ -n "$pid" ] && is_samba "$pid"; then stop_pid "$pid"; fi
  local entry
  for entry in "$RUNS"/*; do
    [ -d "$entry" ] && [ "$(cat "$entry/dir" 2>/dev/null)" = "$dir" ] && rm -rf "$entry"
  done
  # Only ever delete something that is recognisably one of ours.
  if [ -f "$dir/etc/smb.conf" ] || [ -f "$dir/env.json" ]; then rm -rf "$dir"; else log "not removing $dir: not a samba-ad.sh directory"; fi
}

case "${1:-}" in
  install) cmd_install ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) die "usage: $0 install | up <dir> | down <dir>" ;;
esac
