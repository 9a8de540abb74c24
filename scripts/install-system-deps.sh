#!/usr/bin/env bash
# Debian packages the tests need: liblo-tools (oscsend/oscdump, an independent OSC client),
# fluidsynth + fluid-soundfont-gm and timgm6mb-soundfont (rendering test material with two soundfonts),
# puredata-core (pd -nogui runs examples/puredata/mixai.pd against a bridge), ardour-lv2-plugins +
# lilv-utils (Ardour's a-EQ/a-Comp run offline with lv2apply against the Ardour adapter), lua5.4 +
# lua-socket (the Reaper Lua action runs against a bridge with a stand-in for Reaper's API), chromium
# (the visual HTML report opened and screenshotted in a real headless browser).
# Installs only what is missing.
set -euo pipefail
need=()
command -v oscsend >/dev/null 2>&1 || need+=(liblo-tools)
command -v fluidsynth >/dev/null 2>&1 || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)
command -v pd >/dev/null 2>&1 || need+=(puredata-core)
[ -f /usr/lib/lv2/a-eq.lv2/a-eq.ttl ] || need+=(ardour-lv2-plugins)
command -v lv2apply >/dev/null 2>&1 || need+=(lilv-utils)
command -v lua5.4 >/dev/null 2>&1 || need+=(lua5.4)
lua5.4 -e 'require("socket")' >/dev/null 2>&1 || need+=(lua-socket)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
