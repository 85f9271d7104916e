#!/bin/sh
# xcimg statelite: make a shared read-only root image usable by one node.
#
# Runs in the initramfs with the image mounted (NFS, read-only) or unpacked (ramdisk) at
# $STATELITE_ROOT (default /sysroot), before switch_root; it is also installed in the image as
# /etc/init.d/statelite by 'xcimg lite'. It does what xCAT's rc.statelite does, without talking
# to an xCAT daemon: everything the node needs is in $STATELITE_CONF (default
# /etc/xcimg/statelite.conf), written per node by xcimg into the node's boot files:
#
#   node <name>
#   statemnt <server:/path | /local/path | empty>    persistent data lives in <statemnt>/<node>
#   mntopts <nfs options | empty>                     default nolock,rsize=32768,tcp,timeo=14
#   tree <priority> <server:/path | /local/path> [<mount options>]   litetree, priority order
#   entry <option> <path>                  a top-level litefile entry (lite's list, in order)
#   child <option> <path> <top option>     an entry below a listed directory
#
# STATEMNT= and MNTOPTS= on the kernel command line override the file (as with xCAT).
# POSIX sh + busybox: no arrays, no bash. Paths never contain white space (lite refuses them).

ROOT=${STATELITE_ROOT:-/sysroot}
CONF=${STATELITE_CONF:-/etc/xcimg/statelite.conf}
SL=$ROOT/.statelite
TMPFS=$SL/tmpfs
PERSIST=$SL/persistent
TREEMNT=$SL/mnt
DEFAULT=$ROOT/.default
LOCAL=$ROOT/.sllocal/localmnt
LOG=$SL/statelite.log
TREES=
PERSIST_OK=0

say() { echo "statelite: $*" >&2; }
die() {
  say "FATAL: $*"
  exit 1
}
log() { [ -d "$SL" ] && echo "$*" >>"$LOG"; }
# run a command, keeping it and its output in the log
run() {
  log "$*"
  "$@" >>"$LOG" 2>&1
}
retry() {
  i=0
  while ! run "$@"; do
    i=$((i + 1))
    [ "$i" -ge 5 ] && return 1
    say "'$*' failed, trying again in $((i * 2)) seconds"
    sleep $((i * 2))
  done
}

[ -d "$ROOT" ] || die "no root image at $ROOT"
[ -r "$CONF" ] || die "cannot read $CONF (the node's statelite configuration from xcimg)"
[ -d "$SL" ] || die "$ROOT has no /.statelite directory: run 'xcimg lite <image>' on the management node"

NODE=
STATEMNT=
MNTOPTS=
while read -r kind a _rest; do
  case "$kind" in
    node) NODE=$a ;;
    statemnt) STATEMNT=$a ;;
    mntopts) MNTOPTS=$a ;;
  esac
done <"$CONF"
if [ -r /proc/cmdline ]; then
  for arg in $(cat /proc/cmdline); do
    case "$arg" in
      STATEMNT=*) STATEMNT=${arg#STATEMNT=} ;;
      MNTOPTS=*) MNTOPTS=${arg#MNTOPTS=} ;;
    esac
  done
fi
[ -n "$NODE" ] || die "$CONF names no node"

# A fresh tmpfs hides the image's own .statelite (its skeleton of links into .default).
mount -t tmpfs -o mode=755 tmpfs "$SL" || die "cannot mount a tmpfs on $SL"
mkdir -p "$TMPFS" "$TREEMNT"
: >"$LOG"
log "statelite for $NODE, root $ROOT"

# --- persistent storage: <statemnt>/<node> on /.statelite/persistent ---------------------------
if [ -n "$STATEMNT" ]; then
  mkdir -p "$PERSIST"
  case "$STATEMNT" in
    *:/*)
      server=${STATEMNT%%:/*}
      spath=/${STATEMNT#*:/}
      opts=${MNTOPTS:-nolock,rsize=32768,tcp,timeo=14}
      if retry mount -t nfs -o "$opts" "$server:$spath" "$PERSIST"; then
        mkdir -p "$PERSIST/$NODE"
        run umount "$PERSIST" || run umount -l "$PERSIST"
        retry mount -t nfs -o "$opts" "$server:$spath/$NODE" "$PERSIST" && PERSIST_OK=1
      fi
      ;;
    /*)
      mkdir -p "$STATEMNT/$NODE" && run mount --bind "$STATEMNT/$NODE" "$PERSIST" && PERSIST_OK=1
      ;;
  esac
  [ "$PERSIST_OK" = 1 ] || say "cannot mount $STATEMNT/$NODE: persistent entries stay in memory this boot"
fi

# --- litetree: every tree mounted read-only under /.statelite/mnt, in priority order ----------
while read -r kind _prio dir topts; do
  [ "$kind" = tree ] || continue
  case "$dir" in
    *:/*)
      server=${dir%%:/*}
      tpath=/${dir#*:/}
      mnt=$TREEMNT/$server$tpath
      mkdir -p "$mnt"
      retry mount -t nfs -o "ro,${topts:-nolock,tcp,nfsvers=3}" "$server:$tpath" "$mnt" || {
        say "cannot mount litetree $dir; skipping it"
        continue
      }
      ;;
    /*)
      mnt=$TREEMNT/local$dir
      mkdir -p "$mnt"
      run mount --bind "$dir" "$mnt" && run mount -o remount,bind,ro "$mnt" || {
        say "cannot bind litetree $dir; skipping it"
        continue
      }
      ;;
    *) continue ;;
  esac
  TREES="$TREES $mnt"
done <"$CONF"

exists() { [ -e "$1" ] || [ -L "$1" ]; }
nonempty() { [ ! -d "$1" ] || [ -n "$(ls -A "$1" 2>/dev/null)" ]; }

# first litetree match of $1 (an empty directory does not count), else the image's .default copy
source_of() {
  for t in $TREES; do
    s=$t${1%/}
    if exists "$s" && nonempty "$s"; then
      echo "$s"
      return 0
    fi
  done
  s=$DEFAULT${1%/}
  exists "$s" || return 1
  echo "$s"
}

# every litetree match of $1, in priority order; the .default copy only when no tree has it
sources_of() {
  found=
  for t in $TREES; do
    s=$t${1%/}
    [ -f "$s" ] && found="$found $s"
  done
  [ -z "$found" ] && [ -f "$DEFAULT${1%/}" ] && found=$DEFAULT${1%/}
  echo "$found"
}

# copy $1 to $2; onto an existing directory the contents are merged (dot files included)
copy_to() {
  if [ -d "$1" ] && [ ! -L "$1" ] && [ -d "$2" ] && [ ! -L "$2" ]; then
    run cp -a "$1/." "$2/"
  else
    run cp -a "$1" "$2"
  fi
}

placeholder() {
  if [ "$2" = 1 ]; then mkdir -p "$1"; else : >"$1"; fi
}

bind() {
  run mount --bind "$1" "$2" || say "cannot bind $1 on $2"
}

setup() { # $1 option  $2 path  $3 1=child  $4 option of the top-level ancestor
  opt=$1
  path=$2
  p=${path%/}
  pp=$(dirname "$p")
  isdir=0
  case "$path" in */) isdir=1 ;; esac
  [ -d "$TMPFS$pp" ] || [ -L "$TMPFS$pp" ] || mkdir -p "$TMPFS$pp"
  case "$opt" in
    link | tmpfs,rw)
      src=$(source_of "$path") || {
        say "could not find $path in the litetree or .default"
        return
      }
      copy_to "$src" "$TMPFS$p"
      ;;
    link,ro)
      [ "$3" = 1 ] && return
      src=$(source_of "$path") || {
        say "could not find $path in the litetree or .default"
        return
      }
      rm -rf "$TMPFS$p"
      run ln -sfn "${src#"$ROOT"}" "$TMPFS$p"
      ;;
    link,persistent)
      mkdir -p "$PERSIST$pp"
      if ! exists "$PERSIST$p"; then
        src=$(source_of "$path") && run cp -a "$src" "$PERSIST$p"
      fi
      exists "$PERSIST$p" || placeholder "$PERSIST$p" "$isdir"
      if [ "$3" = 1 ]; then
        case "$4" in
          link | tmpfs,rw)
            exists "$TMPFS$p" || placeholder "$TMPFS$p" "$isdir"
            bind "$PERSIST$p" "$TMPFS$p"
            ;;
        esac
      else
        rm -rf "$TMPFS$p"
        run ln -sfn "/.statelite/persistent$p" "$TMPFS$p"
      fi
      ;;
    link,con)
      # below a linked directory the parent's copy already holds the default: start afresh
      rm -f "$TMPFS$p"
      for s in $(sources_of "$path"); do cat "$s" >>"$TMPFS$p"; done
      ;;
    con)
      rm -f "$TMPFS$p"
      for s in $(sources_of "$path"); do cat "$s" >>"$TMPFS$p"; done
      exists "$TMPFS$p" || : >"$TMPFS$p"
      bind "$TMPFS$p" "$ROOT$p"
      ;;
    tmpfs | rw | tempfs)
      src=$(source_of "$path") || {
        say "could not find $path in the litetree or .default"
        return
      }
      copy_to "$src" "$TMPFS$p"
      [ "$3" = 1 ] || bind "$TMPFS$p" "$ROOT$p"
      ;;
    persistent)
      mkdir -p "$PERSIST$pp"
      if ! exists "$PERSIST$p"; then
        src=$(source_of "$path") && run cp -a "$src" "$PERSIST$p"
      fi
      exists "$PERSIST$p" || placeholder "$PERSIST$p" "$isdir"
      bind "$PERSIST$p" "$ROOT$p"
      ;;
    ro)
      src=$(source_of "$path") || {
        say "could not find $path in the litetree or .default"
        return
      }
      rm -rf "$TMPFS$p"
      placeholder "$TMPFS$p" "$isdir"
      run mount --bind "$src" "$ROOT$p" && run mount -o remount,bind,ro "$ROOT$p" || say "cannot bind $src read-only on $ROOT$p"
      ;;
    localdisk)
      if [ -d "$LOCAL" ]; then
        mkdir -p "$LOCAL$pp"
        if ! exists "$LOCAL$p"; then
          src=$(source_of "$path") && run cp -a "$src" "$LOCAL$p"
        fi
        [ "$3" = 1 ] || bind "$LOCAL$p" "$ROOT$p"
      else
        say "no local disk at /.sllocal/localmnt: $path stays in memory"
        src=$(source_of "$path") && copy_to "$src" "$TMPFS$p"
        [ "$3" = 1 ] || bind "$TMPFS$p" "$ROOT$p"
      fi
      ;;
    *) say "unknown option '$opt' for $path; ignored" ;;
  esac
}

[ -d "$PERSIST" ] || mkdir -p "$PERSIST"
# top-level entries first, then the ones below them (xCAT's PLIST, then CLIST)
while read -r kind opt path _rest; do
  [ "$kind" = entry ] && setup "$opt" "$path" 0
done <"$CONF"
while read -r kind opt path top; do
  [ "$kind" = child ] && setup "$opt" "$path" 1 "$top"
done <"$CONF"

# /etc/mtab is the kernel's mount table
if [ -d "$TMPFS/etc" ]; then
  rm -rf "$TMPFS/etc/mtab"
  ln -s /proc/mounts "$TMPFS/etc/mtab"
fi
log "done"
exit 0
