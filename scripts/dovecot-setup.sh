#!/usr/bin/env bash
# Installs what the IMAP tests need: Debian's Dovecot IMAP server (the tests start their own
# instance, with a private configuration and mail directory, on a free loopback port; the
# system's service is not used). Safe to run again.
set -euo pipefail
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
    export DEBIAN_FRONTEND=noninteractive
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    # the package's own service is not started (there is no init in CI containers)
    $sudo apt-get install -y -qq dovecot-imapd >/dev/null
fi
