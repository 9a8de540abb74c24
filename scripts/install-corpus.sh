#!/usr/bin/env bash
# The recorded-music corpus (issue #14): Debian packages that ship produced, mastered game soundtracks
# under free licences, the real band stems of fretsonfire-songs-muldjord, and the extra soundfonts
# the stem model renders with. About 4.5 GB installed. Only what is missing is installed; the audio
# stays where apt puts it (the repo holds the manifest, mixai/training/corpus/recorded.json, never audio).
set -euo pipefail
packages=(
  wesnoth-1.16-music nexuiz-music singularity-music hyperrogue-music supertuxkart-data hedgewars-data
  widelands-data megaglest-data boswars-data asc-music drascula-music pushover-data planetblupi-music-ogg
  openarena-data supertux-data freedroidrpg-data flare-game xmoto-data lincity-ng-data neverball-data
  pingus-data redeclipse-data
  fretsonfire-songs-muldjord
  fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small opl3-soundfont freepats fluidsynth
)
need=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
