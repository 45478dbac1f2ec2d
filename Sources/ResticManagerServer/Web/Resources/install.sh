#!/bin/sh
# restic-manager agent installer (SPEC §13), served by the restic-manager
# server at @SERVER_URL_TEXT@/install.sh with the checksums of the agent
# packages it holds. Run it as:
#
#   curl -fsSL @SERVER_URL_TEXT@/install.sh | sudo sh -s -- --token rme_...
#
# It downloads the agent package for this host's architecture from the
# server, checks its SHA-256, installs it with apt-get (which brings
# restic), enrolls this host with the token and enables and starts the
# service. Running it again upgrades the agent and keeps the enrollment.
#
# Everything runs from main(), called on the very last line, so a download
# cut short runs nothing. The token is never printed: it goes to the agent
# on stdin, not on a command line other users could read.
set -eu

SERVER_URL=@SERVER_URL@
AGENT_VERSION=@AGENT_VERSION@
STATE_DIR=/var/lib/restic-manager-agent
UNIT=restic-manager-agent.service
AGENT=/usr/bin/restic-manager-agent

# "FILE SHA256" of the newest agent package for a Debian architecture.
package_for_arch() {
    case "$1" in
@PACKAGE_CASES@
    *) return 1 ;;
    esac
}

say() { printf 'restic-manager install: %s\n' "$*" >&2; }
fail() {
    say "error: $*"
    exit 1
}

usage() {
    cat <<'USAGE'
usage: install.sh --token rme_... [--name NAME] [--insecure] [--ca-file FILE] [--reenroll]

  --token TOKEN   one-time enrollment token from the server's Enrollment page
                  (not needed to upgrade a host that is already enrolled)
  --name NAME     the host's display name on the server (default: hostname)
  --insecure      allow plain http:// to a server that is not on loopback
  --ca-file FILE  PEM file of CA certificates to trust for the server
  --reenroll      enroll again even if this host is already enrolled
USAGE
}

# True when the agent's state holds a credential.
is_enrolled() {
    [ -x "$AGENT" ] && "$AGENT" status --state-dir "$STATE_DIR" 2>/dev/null | grep -q '^Host id:'
}

main() {
    token=""
    name=""
    insecure=""
    ca_file=""
    reenroll=""
    while [ $# -gt 0 ]; do
        case "$1" in
        --token)
            [ $# -ge 2 ] || fail "--token needs a value"
            token=$2
            shift 2
            ;;
        --token=*)
            token=${1#--token=}
            shift
            ;;
        --name)
            [ $# -ge 2 ] || fail "--name needs a value"
            name=$2
            shift 2
            ;;
        --insecure)
            insecure=1
            shift
            ;;
        --ca-file)
            [ $# -ge 2 ] || fail "--ca-file needs a value"
            ca_file=$2
            shift 2
            ;;
        --reenroll)
            reenroll=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            # Not echoed: a mistyped line may carry the token here.
            fail "unknown argument (see --help)"
            ;;
        esac
    done

    [ "$(id -u)" -eq 0 ] || fail "run this as root: curl -fsSL $SERVER_URL/install.sh | sudo sh -s -- --token rme_..."
    if [ ! -r /etc/debian_version ] || ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        fail "this installer is for Debian and its derivatives (no /etc/debian_version, dpkg or apt-get here); see docs/windows.md and the README for other systems"
    fi
    for tool in curl sha256sum; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing; install it with apt-get install $tool"
    done
    if [ -n "$token" ]; then
        case "$token" in
        rme_?*) ;;
        *) fail "the --token value is not an enrollment token (those start with rme_); copy the line from the server's Enrollment page" ;;
        esac
    fi
    [ -z "$ca_file" ] || [ -r "$ca_file" ] || fail "--ca-file $ca_file is not a readable file"

    enroll=1
    if is_enrolled && [ -z "$reenroll" ]; then
        enroll=""
        say "this host is already enrolled; upgrading the agent and keeping its enrollment (--reenroll enrolls it again)"
    elif [ -z "$token" ]; then
        fail "--token rme_... is required to enroll this host; create one on the server's Enrollment page"
    fi

    arch=$(dpkg --print-architecture)
    package=$(package_for_arch "$arch") ||
        fail "the server at $SERVER_URL has no agent $AGENT_VERSION package for architecture $arch (it has: @ARCHES@)"
    file=${package% *}
    sha256=${package#* }

    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # apt-get reads local packages as its unprivileged _apt user.
    chmod 0755 "$work"
    say "downloading $file from $SERVER_URL"
    curl -fsSL -o "$work/$file" "$SERVER_URL/packages/$file" || fail "could not download $SERVER_URL/packages/$file"
    chmod 0644 "$work/$file"
    actual=$(sha256sum "$work/$file" | cut -d ' ' -f 1)
    [ "$actual" = "$sha256" ] ||
        fail "$file does not match the checksum this script carries (expected $sha256, got $actual); nothing was installed"

    # restic is a dependency apt-get must find in the package lists; a
    # host that never ran apt-get update has none.
    if ! command -v restic >/dev/null 2>&1; then
        say "updating the package lists for restic"
        apt-get update -q </dev/null || fail "apt-get update failed; fix this host's apt sources and run this again"
    fi
    say "installing $file (apt-get brings restic along)"
    # stdin is this script's pipe: nothing may read it. An operator's
    # edited /etc/default file is kept on upgrade.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$work/$file" </dev/null ||
        fail "apt-get could not install $file; see its messages above"

    if [ -n "$enroll" ]; then
        set -- --server "$SERVER_URL" --token-stdin --state-dir "$STATE_DIR"
        [ -z "$name" ] || set -- "$@" --name "$name"
        [ -z "$insecure" ] || set -- "$@" --insecure
        [ -z "$ca_file" ] || set -- "$@" --ca-file "$ca_file"
        printf '%s\n' "$token" | "$AGENT" enroll "$@" ||
            fail "enrollment failed (see the agent's message above); the agent is installed but not enrolled: create a new token on the Enrollment page and run this again"
    fi
    # The daemon must trust the server the way enrollment did.
    if [ -n "$insecure$ca_file" ]; then
        args=""
        [ -z "$insecure" ] || args="--insecure"
        [ -z "$ca_file" ] || args="$args --ca-file $ca_file"
        printf 'RESTIC_MANAGER_AGENT_ARGS="%s"\n' "${args# }" >/etc/default/restic-manager-agent
    fi

    if ! command -v systemctl >/dev/null 2>&1; then
        say "installed and enrolled; systemd is not on this host: start the agent with $AGENT run"
        return 0
    fi
    systemctl enable "$UNIT" >/dev/null 2>&1 || systemctl enable "$UNIT"
    if [ -d /run/systemd/system ]; then
        # restart, not start: a running agent must pick up the new binary.
        systemctl restart "$UNIT"
        say "agent $AGENT_VERSION is running; follow it with: journalctl -u $UNIT -f"
    else
        say "installed, enrolled and enabled; systemd is not running here, so the agent starts at the next boot"
    fi
}

main "$@"
