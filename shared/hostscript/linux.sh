#!/bin/sh
# logtail-xacct host script (Linux, POSIX sh). Runs as root through Cloud Assistant, or by hand:
#
#   sh linux.sh authorize --uid <UID> --id <IDENTIFIER> [--adopt] [--restart changed|always|never]
#   sh linux.sh revoke    --uid <UID> --id <IDENTIFIER>... [--other-id <IDENTIFIER>]... [--restart ...]
#   sh linux.sh inspect   [--since <UNIX SECONDS> --path <ABSOLUTE PATH PATTERN>...]
#
# authorize: creates /etc/ilogtail/users/<UID> (the destination account may collect from this host)
#            and appends <IDENTIFIER> as its own line of /etc/ilogtail/user_defined_id, unless the
#            agent already reads that line. What it created, and what it found already there, is
#            remembered in /etc/ilogtail/.logtail-xacct-record. --adopt: what is found without a
#            record was made by an earlier version of this tool (the host was onboarded before).
# revoke:    undoes exactly what authorize did, for each --id: removes the line it added (and the newline it added
#            before it), the UID file it created unless a line that remains is one of the
#            --other-id identifiers (other routes of the same UID still need it), the identifier
#            file and users/ when it created them and they are empty. What was there before stays
#            byte for byte, with its mode and owner. Without a record (a host set up by an earlier
#            version), it removes every line of <IDENTIFIER> and the UID file as that version did.
# inspect:   changes nothing. With --path, also counts the regular files matching those patterns
#            (as the agent matches a config's filePaths: `*` and `?` in names and directories, `**`
#            for any depth) and how many changed at or after --since.
# The agent (Logtail or LoongCollector) is restarted when a file changed, so it applies at once.
#
# The last line printed on stdout is always one JSON object describing what was found and done.
# Exit codes: 0 files are as requested (the agent's state is reported, never an error);
#             2 invalid arguments, nothing written; 3 the host's files cannot be changed safely;
#             4 a write failed; 5 the agent is too old for this tool's configs, nothing written.
#
# Arguments are validated by strict patterns (the same as the routes schema) before anything is
# touched, and are never evaluated by the shell: they only ever appear quoted, or through ENVIRON.

set -u
LC_ALL=C
export LC_ALL
umask 022
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

ILOGTAIL_DIR=/etc/ilogtail
USERS_DIR=$ILOGTAIL_DIR/users
ID_FILE=$ILOGTAIL_DIR/user_defined_id
# Root's alone, like the directory (check_paths); a dot-file the agent never reads.
RECORD_FILE=$ILOGTAIL_DIR/.logtail-xacct-record
# In root's /run (not /etc/ilogtail): nothing is left among the agent's files, and a reboot clears it.
LOCK_FILE=/run/logtail-xacct.lock
# {host-facts
APP_INFO=/usr/local/ilogtail/app_info.json
AGENT_CONFIG=/usr/local/ilogtail/ilogtail_config.json
DMI_UUID_FILE=/sys/class/dmi/id/product_uuid
# host-facts}
SCRIPT_VERSION=2
LOCK_WAIT_SECONDS=30
ID_RULE="must be 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit"

action=""
uid=""
ids=""
# Revoke: identifiers left on the host because they were there before onboarding (JSON strings).
kept=""
id=""
ids=""
# Revoke: identifiers left on the host because they were there before onboarding (JSON strings).
kept=""
other_ids=""
# Revoke: identifiers left on the host because they were there before onboarding (JSON strings).
kept=""
restart_mode="changed"
adopt=false
uid_file_changed=false
id_file_changed=false
agent_flavor=none
agent_control=none
agent_running=false
agent_restarted=false
restart_error=""
lock_held=false
since=""
paths=""

# --- output -----------------------------------------------------------------------------------

# An awk function that writes a string as the body of a JSON string: escapes backslash, quote and
# every control character, so foreign file content cannot break the report.
AWK_JSON_ESCAPE='function esc(s,  i, n, c) {
  n = length(s)
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (c == "\\") printf "\\\\"; else if (c == "\"") printf "\\\""
    else if (c in code) printf "\\u%04x", code[c]; else printf "%s", c
  }
}
BEGIN { for (i = 1; i < 32; i++) code[sprintf("%c", i)] = i; ORS = "" }'

# Values made only of characters that need no escaping are printed as they are (no awk process:
# the script runs on many hosts at once); anything else goes through the escaper.
json_string() {
  case $1 in
    '') printf 'null' ;;
    *[!A-Za-z0-9._:@/+-]*)
      printf '"'
      printf '%s' "$1" | awk "$AWK_JSON_ESCAPE"'
        NR > 1 { printf "\\n" }
        { esc($0) }'
      printf '"'
      ;;
    *) printf '"%s"' "$1" ;;
  esac
}

# The report must fit in Cloud Assistant's output (24 KB, cut beyond): the two lists below are
# bounded, and say how many entries they left out.

# A JSON array of the UID file names present (dot-files are ignored, as the agent ignores them):
# at most 32, none over 64 bytes.
json_uid_files() {
  printf '['
  sep="" n=0 cut=0
  if [ -d "$USERS_DIR" ]; then
    for path in "$USERS_DIR"/*; do
      [ -e "$path" ] || continue
      name=${path##*/}
      if [ "$n" -ge 32 ] || [ ${#name} -gt 64 ]; then
        cut=$((cut + 1))
        continue
      fi
      n=$((n + 1))
      printf '%s' "$sep"
      json_string "$name"
      sep=","
    done
  fi
  printf '],"omittedUidFiles":%s' "$cut"
}

# A JSON array of the identifier lines as the agent reads them (spaces trimmed, empty lines
# skipped); a line with a CR or tab keeps it, which is what makes such a line match nothing.
# Our own (--id, --other-id) always; others up to 64 lines and 2,048 characters.
json_identifier_lines() {
  printf '['
  f=/dev/null
  # Never read through a link: the report travels to the hub, and a link could name a secret.
  [ -f "$ID_FILE" ] && [ ! -L "$ID_FILE" ] && f=$ID_FILE
  LTX_IDS="$ids $other_ids" awk "$AWK_JSON_ESCAPE"'
    BEGIN { k = split(ENVIRON["LTX_IDS"], w, " "); for (i = 1; i <= k; i++) ours[w[i]] = 1 }
    {
      line = $0
      sub(/^ +/, "", line); sub(/ +$/, "", line)
      if (line == "") next
      if (!(line in ours) && (m++ >= 64 || (t += length(line)) > 2048)) { cut++; next }
      if (n++) printf ","
      printf "\""; esc(line); printf "\""
    }
    END { printf "],\"omittedIdentifiers\":%d", cut }' "$f"
}

# {host-facts: what the host is (for authorize and inspect); revoke's commands are sent without it.
# The agent's ip, hostname, version, UUID and host id from app_info.json (pretty-printed or not),
# as the JSON members of the report's host object, in one pass and without a JSON parser. The UUID
# and host id are what the agent heartbeats with (machine-uniqueid, host-id); without the file,
# they are left out (unknown).
json_app_info() {
  if [ ! -r "$APP_INFO" ]; then
    printf '"ip":null,"hostname":null,"agentVersion":null'
    return
  fi
  awk "$AWK_JSON_ESCAPE"'
    function field(line, key,  rest) {
      if (!match(line, "\"" key "\"[ \t]*:[ \t]*\"[^\"]*\"")) return ""
      rest = substr(line, RSTART, RLENGTH)
      sub(/^"[^"]*"[ \t]*:[ \t]*"/, "", rest)
      sub(/"$/, "", rest)
      return rest
    }
    {
      if (ip == "") ip = field($0, "ip")
      if (host == "") host = field($0, "hostname")
      if (version == "") version = field($0, "logtail_version")
      if (version == "") version = field($0, "loongcollector_version")
      if (uuid == "") uuid = field($0, "UUID")
      if (hostid == "") hostid = field($0, "host_id")
    }
    function member(name, value) {
      printf "%s\"%s\":", (n++ ? "," : ""), name
      if (value == "") printf "null"; else { printf "\""; esc(value); printf "\"" }
    }
    END {
      member("ip", ip); member("hostname", host); member("agentVersion", version)
      member("agentUuid", uuid); member("agentHostId", hostid)
    }' "$APP_INFO"
}

# The region the agent was installed for, as the report's `agentRegion` member: the first
# data_server_list cluster of ilogtail_config.json; only a region id is ever printed.
json_agent_region() {
  r=$(sed -n 's/.*"cluster" *: *"\([a-z0-9-]*\)".*/\1/p' "$AGENT_CONFIG" 2>/dev/null | head -n 1)
  case $r in [a-z]*-[a-z0-9]*) r="\"$r\"" ;; *) r=null ;; esac
  printf '"agentRegion":%s' "$r"
}

# The SMBIOS UUID, read with the shell's own `read` (no process); dmidecode where sysfs lacks it.
dmi_uuid() {
  uuid=""
ids=""
# Revoke: identifiers left on the host because they were there before onboarding (JSON strings).
kept=""
  if [ -r "$DMI_UUID_FILE" ]; then
    read -r uuid <"$DMI_UUID_FILE" || true
  elif command -v dmidecode >/dev/null 2>&1; then
    uuid=$(dmidecode -s system-uuid 2>/dev/null | head -n 1)
  fi
  printf '%.64s' "$uuid"
}
# host-facts}

# {inspect-files: only inspect with --path needs these lines; other runs are sent without them.
# The files matching the --path patterns, as a JSON object: how many, how many changed at or after
# --since, the newest change. A pattern's directory part may hold wildcards (searched from the
# deepest plain directory above them, linked or not) and `/**/` (any depth up to 10, none
# included). Each file counts once, by device and inode, whichever patterns match it.
json_files() {
  printf '%s' "$paths" | while IFS= read -r p; do
    base=${p%/*}
    while case $base in *[*?[]*) ;; *) false ;; esac do base=${base%/*}; done
    # Never a search of the whole file system (/proc, network mounts) from a pattern like /*/x.log.
    [ -n "$base" ] || continue
    # find's `*` also matches `/`: without `**` the depth is the pattern's, so a.log in a
    # subdirectory does not match /dir/*.log.
    depth=$(printf '%s' "${p#"$base"/}" | tr -cd / | wc -c)
    case $p in *'**'*) depth=10 ;; *) depth=$((depth + 1)) ;; esac
    flat=$(printf '%s' "$p" | sed 's#/\*\*/#/#g')
    find -H "$base" -maxdepth "$depth" -type f \( -path "$p" -o -path "$flat" \) -exec stat -L -c '%Y %d:%i' {} + 2>/dev/null
  done | awk -v s="${since:-0}" '!n[$2]++ { m++; if ($1 >= s + 0) c++; if ($1 > t + 0) t = $1 }
    END { printf "{\"matched\":%d,\"changedSince\":%d,\"newestChange\":%s}", m, c, m ? t : "null" }'
}
# inspect-files}

# ok: true|false; $2: error code; $3: error message (both fixed strings of this script).
report() {
  ok=$1
  err_code=${2:-}
  err_message=${3:-}
  printf '{"tool":"logtail-xacct","scriptVersion":%s,"action":%s,"ok":%s' \
    "$SCRIPT_VERSION" "$(json_string "$action")" "$ok"
  printf ',"changed":{"uidFile":%s,"identifiers":%s}' "$uid_file_changed" "$id_file_changed"
  [ -z "$kept" ] || printf ',"keptIdentifiers":[%s]' "${kept#,}"
  printf ',"uidFiles":%s,"identifiers":%s' "$(json_uid_files)" "$(json_identifier_lines)"
  printf ',"agent":{"flavor":"%s","control":"%s","running":%s,"restarted":%s,"restartError":%s}' \
    "$agent_flavor" "$agent_control" "$agent_running" "$agent_restarted" "$(json_string "$restart_error")"
  # {host-facts
  printf ',"host":{"dmiUuid":%s,%s,%s}' "$(json_string "$(dmi_uuid)")" "$(json_app_info)" "$(json_agent_region)"
  # host-facts}
  if [ "$ok" = true ] && [ -n "$paths" ]; then printf ',"files":%s' "$(json_files)"; fi
  if [ -n "$err_code" ]; then
    printf ',"error":{"code":%s,"message":%s}}\n' "$(json_string "$err_code")" "$(json_string "$err_message")"
  else
    printf ',"error":null}\n'
  fi
}

# Closing the descriptor releases a flock: done before the agent is restarted, so the restarted
# daemon does not inherit the lock and hold it for its whole life.
release_lock() {
  [ "$lock_held" = true ] && exec 9<&-
  lock_held=false
}

# Ends the run: releases the lock, prints the report, exits with $1.
finish() {
  release_lock
  if [ "$1" -eq 0 ]; then report true; else report false "$2" "$3"; fi
  exit "$1"
}

# Invalid arguments are reported by name only: the rejected value is never echoed back.
invalid() {
  detect_agent
  printf 'logtail-xacct: %s\n' "$1" >&2
  report false InvalidArgument "$1"
  exit 2
}

# --- validation (the same patterns as shared/config/patterns.ts) ------------------------------

# A main-account UID: 16 digits.
valid_uid() {
  [ "${#1}" -eq 16 ] || return 1
  case $1 in
    *[!0-9]*) return 1 ;;
  esac
  return 0
}

# A custom identifier: 1-128 of letters, digits, '.', '_', '-', starting with a letter or digit.
valid_identifier() {
  [ "${#1}" -ge 1 ] && [ "${#1}" -le 128 ] || return 1
  case $1 in
    [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) return 1 ;;
  esac
  return 0
}

parse_args() {
  [ $# -ge 1 ] || invalid "missing action: authorize, revoke or inspect"
  case $1 in
    authorize | revoke | inspect) action=$1 ;;
    *) invalid "unknown action: expected authorize, revoke or inspect" ;;
  esac
  shift
  seen=" "
  while [ $# -gt 0 ]; do
    # Both `--flag value` and `--flag=value`. A rejected flag or value is never echoed back.
    case $1 in
      --uid=* | --id=* | --other-id=* | --restart=* | --since=* | --path=*)
        flag=${1%%=*} value=${1#*=}
        shift
        ;;
      --uid | --id | --other-id | --restart | --since | --path)
        [ $# -ge 2 ] || invalid "$1 needs a value"
        flag=$1 value=$2
        shift 2
        ;;
      --adopt)
        flag=$1 value=""
        shift
        ;;
      *) invalid "unknown argument (expected --uid, --id, --other-id, --adopt, --restart, --since or --path)" ;;
    esac
    # Flags that take one value; --other-id and --path may repeat, and revoke's --id.
    case $seen in *" $flag "*) invalid "$flag given twice" ;; esac
    case $flag in
      --uid)
        valid_uid "$value" || invalid "--uid must be a 16-digit account UID"
        uid=$value
        ;;
      --id)
        valid_identifier "$value" || invalid "--id $ID_RULE"
        id=$value
        ids="$ids $value"
        ;;
      --other-id)
        valid_identifier "$value" || invalid "--other-id $ID_RULE"
        other_ids="$other_ids $value"
        ;;
      --adopt) adopt=true ;;
      --restart)
        case $value in
          changed | always | never) restart_mode=$value ;;
          *) invalid "--restart must be changed, always or never" ;;
        esac
        ;;
      # {inspect-files
      --since)
        case $value in '' | *[!0-9]*) invalid "--since must be Unix seconds" ;; esac
        since=$value
        ;;
      --path)
        # Absolute, no control character, no '..' segment: only ever a quoted pattern for find.
        case $value in [!/]* | '' | *[[:cntrl:]]* | */../* | */..) invalid "--path must be an absolute path without control characters or '..'" ;; esac
        paths="$paths$value
"
        ;;
      # inspect-files}
    esac
    case $flag in --other-id | --path) ;; --id) [ "$action" = revoke ] || seen="$seen$flag " ;; *) seen="$seen$flag " ;; esac
  done
  case $action in
    authorize | revoke)
      case $seen in *" --uid "*) ;; *) invalid "$action needs --uid" ;; esac
      [ -n "$ids" ] || invalid "$action needs --id"
      [ -z "$paths$since" ] || invalid "--since and --path are for inspect only"
      ;;
    inspect)
      case $seen in *" --uid "* | *" --id "* | *" --restart "* | *" --adopt "*) other_ids=x ;; esac
      [ -z "$other_ids" ] || invalid "inspect takes no --uid, --id, --other-id, --adopt or --restart"
      ;;
  esac
  [ "$action" != authorize ] || [ -z "$other_ids" ] || invalid "--other-id is for revoke only"
  [ "$action" = authorize ] || [ "$adopt" = false ] || invalid "--adopt is for authorize only"
}

# --- safety and locking -----------------------------------------------------------------------

# Refuses to write through symlinks: whatever they point at is not ours to change.
check_paths() {
  for path in "$ILOGTAIL_DIR" "$USERS_DIR" "$ID_FILE" "$RECORD_FILE"; do
    if [ -L "$path" ]; then
      finish 3 UnsafePath "refusing to write through a symbolic link under /etc/ilogtail"
    fi
  done
  if [ -e "$ID_FILE" ] && [ ! -f "$ID_FILE" ]; then
    finish 3 UnsafePath "/etc/ilogtail/user_defined_id is not a regular file"
  fi
  if [ -e "$RECORD_FILE" ] && [ ! -f "$RECORD_FILE" ]; then
    finish 3 UnsafePath "$RECORD_FILE is not a regular file"
  fi
  if [ -e "$USERS_DIR" ] && [ ! -d "$USERS_DIR" ]; then
    finish 3 UnsafePath "/etc/ilogtail/users is not a directory"
  fi
  # A directory another user may write to lets them plant links or swap files under root's writes.
  for path in "$ILOGTAIL_DIR" "$USERS_DIR"; do
    [ -d "$path" ] || continue
    if [ -n "$(find "$path" -prune \( -perm -020 -o -perm -002 -o ! -user 0 \))" ]; then
      finish 3 UnsafePath "$path is not root's alone (another owner, or writable by group or others)"
    fi
  done
}

# Serializes concurrent runs on one host, with flock (util-linux, busybox: on every distribution
# Alibaba Cloud offers), released by the kernel when its holder dies, so a killed run never leaves
# the host locked. It is taken on a file only root can open: flock needs only read access, so a
# lock on anything world-readable could be held forever by any local user.
acquire_lock() {
  [ -L "$ILOGTAIL_DIR" ] && finish 3 UnsafePath "refusing to write through a symbolic link under /etc/ilogtail"
  mkdir -p "$ILOGTAIL_DIR" 2>/dev/null || finish 4 WriteFailed "cannot create /etc/ilogtail"
  command -v flock >/dev/null 2>&1 || finish 3 NoLock "flock (util-linux) is missing: nothing was changed"
  if [ -L "$LOCK_FILE" ] || { [ -e "$LOCK_FILE" ] && [ ! -f "$LOCK_FILE" ]; }; then
    finish 3 UnsafePath "$LOCK_FILE is not a regular file"
  fi
  if ! { (umask 077 && : >>"$LOCK_FILE") 2>/dev/null && chmod 600 "$LOCK_FILE"; }; then
    finish 4 WriteFailed "cannot open $LOCK_FILE"
  fi
  exec 9<"$LOCK_FILE" || finish 4 WriteFailed "cannot open $LOCK_FILE"
  lock_held=true
  flock -w "$LOCK_WAIT_SECONDS" 9 || finish 3 LockTimeout "another logtail-xacct run holds $LOCK_FILE"
}

# --- files --------------------------------------------------------------------------------------

# The record of what this tool did on the host, appended one `<key> <value>` line at a time (the
# last line of a key wins, `-` forgets it): uid:<UID> created|existed,
# id:<IDENTIFIER> added|added-newline|existed, id-file created|existed, users-dir created.
# Keys and values are validated words. Prints the value of $1 (nothing when unrecorded).
record_get() {
  [ -f "$RECORD_FILE" ] || return 0
  LTX_KEY=$1 awk 'NF == 2 && $1 == ENVIRON["LTX_KEY"] { v = $2 } END { if (v != "-") print v }' "$RECORD_FILE"
}

record_set() {
  (umask 077 && printf '%s %s\n' "$1" "$2" >>"$RECORD_FILE") || finish 4 WriteFailed "cannot write $RECORD_FILE"
}

# True when a line of the identifier file, trimmed as the agent trims it, is one of $1 (words).
has_identifier_line() {
  [ -f "$ID_FILE" ] || return 1
  LTX_IDS=$1 awk '
    BEGIN { n = split(ENVIRON["LTX_IDS"], ids, " "); for (i = 1; i <= n; i++) want[ids[i]] = 1; found = 0 }
    { line = $0; sub(/^ +/, "", line); sub(/ +$/, "", line); if (line in want) found = 1 }
    END { exit found ? 0 : 1 }' "$ID_FILE"
}

# True when the identifier file is not empty and its last byte is not a newline.
lacks_final_newline() {
  [ -s "$ID_FILE" ] && [ -n "$(tail -c 1 "$ID_FILE")" ]
}

# Moves $1 (a temporary file beside it) over the identifier file, readers (the agent) seeing the
# old or the new file, never a half-written one. A file that was there keeps its mode and owner;
# a new one is root's, 644. Sets id_file_changed.
install_identifier_file() {
  if [ -f "$ID_FILE" ] && cmp -s "$1" "$ID_FILE"; then
    rm -f "$1"
    return 0
  fi
  if [ -f "$ID_FILE" ]; then
    owner=$(stat -c '%u:%g' "$ID_FILE") && mode=$(stat -c '%a' "$ID_FILE") &&
      chown "$owner" "$1" && chmod "$mode" "$1"
  else
    chmod 644 "$1"
  fi || {
    rm -f "$1"
    finish 4 WriteFailed "cannot write $ID_FILE"
  }
  if ! mv -f "$1" "$ID_FILE"; then
    rm -f "$1"
    finish 4 WriteFailed "cannot replace $ID_FILE"
  fi
  id_file_changed=true
}

# {revoke-only: what only revoke runs; the other actions' commands are sent without these lines.
# Writes the identifier file without our line: $1 `added` or `added-newline` (as recorded) removes
# the line authorize appended and restores the bytes around it; `legacy` (no record) removes every
# variant of it. The file is removed instead when nothing is left and it was not there before.
rewrite_identifier_file() {
  tmp=$(mktemp "$ILOGTAIL_DIR/.user_defined_id.XXXXXX") || finish 4 WriteFailed "cannot write $ID_FILE"
  final_newline=1
  lacks_final_newline && final_newline=0
  if ! LTX_ID=$id LTX_FINAL_NEWLINE=$final_newline LTX_MODE=$1 awk '
      BEGIN { id = ENVIRON["LTX_ID"]; mode = ENVIRON["LTX_MODE"] }
      { line[NR] = $0 }
      END {
        # Ours is the last clean line (appended). An earlier version kept one clean line and
        # removed variants (spaces, tab, CR): without a record, all go.
        if (mode != "legacy") for (k = NR; k > 0; k--) if (line[k] == id) break
        for (i = 1; i <= NR; i++) {
          l = line[i]; gsub(/^[ \t\r]+|[ \t\r]+$/, "", l)
          if (i == k || (mode == "legacy" && l == id)) continue
          printf "%s%s", sep, line[i]; sep = "\n"; last = i
        }
        # The kept last line ends as it did; one we removed lines after had a newline, unless ours.
        if (!last) exit
        if (last == NR) { if (ENVIRON["LTX_FINAL_NEWLINE"] == 1) printf "\n" }
        else if (mode != "added-newline") printf "\n"
      }' "$ID_FILE" >"$tmp"; then
    rm -f "$tmp"
    finish 4 WriteFailed "cannot write $ID_FILE"
  fi
  if [ ! -s "$tmp" ] && [ -s "$ID_FILE" ] && [ "$(record_get id-file)" != existed ]; then
    # The last identifier of a file this tool created: the host has none again.
    rm -f "$tmp"
    rm -f "$ID_FILE" || finish 4 WriteFailed "cannot remove $ID_FILE"
    id_file_changed=true
    return 0
  fi
  install_identifier_file "$tmp"
}

revoke() {
  for id in $ids; do
    recorded=$(record_get "id:$id")
    case $recorded in
      # The line was there before onboarding: the host's owner still wants it.
      existed) kept="$kept,\"$id\"" ;;
      added | added-newline) [ -f "$ID_FILE" ] && rewrite_identifier_file "$recorded" ;;
      *) [ -f "$ID_FILE" ] && rewrite_identifier_file legacy ;;
    esac
    record_set "id:$id" -
  done
  if [ -e "$USERS_DIR/$uid" ] && ! has_identifier_line "$other_ids"; then
    if [ "$(record_get "uid:$uid")" != existed ]; then
      rm -f "$USERS_DIR/$uid" || finish 4 WriteFailed "cannot remove the UID file"
      uid_file_changed=true
    fi
    record_set "uid:$uid" -
  fi
  # Nothing of ours left: what was created only to hold it goes, and so does the record.
  if [ -f "$RECORD_FILE" ] && ! awk 'NF == 2 { v[$1] = $2 } END { for (k in v) if (k ~ /^id:/ && v[k] != "-") exit 0; exit 1 }' "$RECORD_FILE"; then
    if [ "$(record_get users-dir)" = created ]; then rmdir "$USERS_DIR" 2>/dev/null; fi
    rm -f "$RECORD_FILE" || finish 4 WriteFailed "cannot remove $RECORD_FILE"
  fi
}
# revoke-only}

# {authorize-only: what only authorize runs.
# The major version of the installed agent from app_info.json (empty when unknown).
agent_major_version() {
  [ -r "$APP_INFO" ] || return 0
  awk 'match($0, /"(logtail|loongcollector)_version"[ \t]*:[ \t]*"[0-9]+/) {
    s = substr($0, RSTART, RLENGTH); sub(/.*"/, "", s); print s; exit
  }' "$APP_INFO"
}

# The route's configs read files beside the host's own configs and ship each line's position:
# options only Logtail 2.x and LoongCollector know. A 1.x agent would take such a config as a
# plain one (which can win the one-reader-per-file contest from the host's own config) and ship
# no positions, so its host is left as it is. An unknown version is not refused.
refuse_old_agent() {
  detect_agent
  [ "$agent_flavor" = ilogtail ] || return 0
  case $(agent_major_version) in
    0 | 1) finish 5 AgentTooOld "Logtail before 2.0 lacks the options this tool's configs need; nothing was changed" ;;
  esac
}

# Records $1 as found already there ($2 what it is called when made by us), unless recorded.
# With --adopt, what is there was made by an earlier version of this tool.
record_found() {
  [ -n "$(record_get "$1")" ] && return 0
  if [ "$adopt" = true ]; then record_set "$1" "$2"; else record_set "$1" existed; fi
}

# Each change is recorded before it is made: a run killed in between leaves a record of a thing
# that is not there (revoke then finds nothing to undo), never a thing of ours without a record.
authorize() {
  refuse_old_agent
  if [ ! -d "$USERS_DIR" ]; then
    record_set users-dir created
    mkdir -p "$USERS_DIR" || finish 4 WriteFailed "cannot create /etc/ilogtail/users"
  fi
  if [ -L "$USERS_DIR/$uid" ]; then
    finish 3 UnsafePath "refusing to write through a symbolic link under /etc/ilogtail"
  elif [ ! -e "$USERS_DIR/$uid" ]; then
    record_set "uid:$uid" created
    # noclobber creates exclusively (O_EXCL): a link planted meanwhile is not followed.
    (set -C && : >"$USERS_DIR/$uid") 2>/dev/null || finish 4 WriteFailed "cannot create the UID file"
    uid_file_changed=true
  else
    record_found "uid:$uid" created
  fi
  if [ -f "$ID_FILE" ]; then
    record_found id-file created
  else
    record_set id-file created
  fi
  # A line the agent already reads as ours (spaces around it are trimmed) is left as it is.
  if has_identifier_line "$id"; then
    record_found "id:$id" added
    return 0
  fi
  # An unpredictable name, created exclusively: a link planted at a guessable name is never followed.
  tmp=$(mktemp "$ILOGTAIL_DIR/.user_defined_id.XXXXXX") || finish 4 WriteFailed "cannot write $ID_FILE"
  added=added
  lacks_final_newline && added="added-newline"
  record_set "id:$id" "$added"
  # The old bytes, then ours on a line of its own.
  if ! { [ ! -f "$ID_FILE" ] || cat "$ID_FILE"; } >"$tmp" ||
    ! { [ "$added" = added ] || printf '\n'; } >>"$tmp" ||
    ! printf '%s\n' "$id" >>"$tmp"; then
    rm -f "$tmp"
    finish 4 WriteFailed "cannot write $ID_FILE"
  fi
  install_identifier_file "$tmp"
}
# authorize-only}

# --- agent ----------------------------------------------------------------------------------------

systemd_unit_exists() {
  command -v systemctl >/dev/null 2>&1 || return 1
  [ -d /run/systemd/system ] || return 1
  systemctl cat "$1.service" >/dev/null 2>&1
}

# Finds whichever agent is installed: Logtail or LoongCollector, by init script or systemd unit.
detect_agent() {
  if [ -x /etc/init.d/ilogtaild ]; then
    agent_flavor=ilogtail agent_control=initd
  elif [ -x /etc/init.d/loongcollectord ]; then
    agent_flavor=loongcollector agent_control=initd
  elif systemd_unit_exists ilogtaild; then
    agent_flavor=ilogtail agent_control=systemd
  elif systemd_unit_exists loongcollectord; then
    agent_flavor=loongcollector agent_control=systemd
  fi
}

agent_service_name() {
  if [ "$agent_flavor" = ilogtail ]; then echo ilogtaild; else echo loongcollectord; fi
}

agent_is_running() {
  service=$(agent_service_name)
  case $agent_control in
    initd) /etc/init.d/"$service" status >/dev/null 2>&1 ;;
    systemd) systemctl is-active --quiet "$service.service" ;;
    *) return 1 ;;
  esac
}

restart_agent() {
  service=$(agent_service_name)
  case $agent_control in
    initd) /etc/init.d/"$service" restart >/dev/null 2>&1 ;;
    systemd) systemctl restart "$service.service" >/dev/null 2>&1 ;;
    *) return 0 ;;
  esac
}

observe_agent() {
  detect_agent
  [ "$agent_control" = none ] && return 0
  wants_restart=false
  case $restart_mode in
    always) wants_restart=true ;;
    changed)
      if [ "$uid_file_changed" = true ] || [ "$id_file_changed" = true ]; then
        wants_restart=true
      # A stopped agent never reads the identifier: authorize starts it (revoke leaves it alone).
      elif [ "$action" = authorize ] && ! agent_is_running; then
        wants_restart=true
      fi
      ;;
  esac
  if [ "$wants_restart" = true ]; then
    if restart_agent; then
      agent_restarted=true
    else
      restart_error="the agent's restart command failed"
    fi
  fi
  if agent_is_running; then agent_running=true; fi
}

# --- main -----------------------------------------------------------------------------------------

main() {
  parse_args "$@"
  # Revoking on a host that never had /etc/ilogtail has nothing to undo and must not create it.
  if [ "$action" = authorize ] || { [ "$action" = revoke ] && [ -d "$ILOGTAIL_DIR" ]; }; then
    # The lock first: a path checked before waiting for it could be swapped while waiting.
    acquire_lock
    check_paths
    trap 'release_lock' EXIT
    trap 'release_lock; exit 130' INT TERM HUP
    case $action in
      authorize) authorize ;;
      revoke) revoke ;;
    esac
    release_lock
  fi
  observe_agent
  finish 0
}

main "$@"
