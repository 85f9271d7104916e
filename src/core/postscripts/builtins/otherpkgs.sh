#!/bin/sh
# xcimg's built-in otherpkgs (xCAT's default postscript of that name, written anew for xcimg):
# on a running diskful node, install the osimage's otherpkglist (OTHERPKGS1..OTHERPKGS_INDEX,
# one transaction each, xCAT's #NEW_INSTALL_LIST#) from its otherpkgdir, which the management
# node serves over HTTP (OTHERPKGDIR_URL: xcimg renders the URL of each otherpkgdir entry).
# As in xCAT's lists: `-pkg` is removed before the install, `--pkg` after it, `dir/pkg` also
# uses <otherpkgdir>/dir as a repository. The package manager is the node's own: apt-get (a
# flat repository: Packages at the URL), dnf or yum, zypper. A diskless node (netboot,
# statelite: NODESETSTATE) keeps what its image has: the packages belong in the image
# (genimage's otherpkglist), so otherpkgs says so and changes nothing.
#   otherpkgs [--pm=apt|dnf|yum|zypper]
XCIMG_NAME=otherpkgs
set -f # the lists' words are package names, never file patterns
note() { echo "$XCIMG_NAME: $*"; }
die() {
	echo "$XCIMG_NAME: error: $*" >&2
	exit 1
}

PM=''
for _arg in "$@"; do
	case $_arg in
	--pm=apt | --pm=dnf | --pm=yum | --pm=zypper) PM=${_arg#--pm=} ;;
	*) die "unknown argument '$_arg' (otherpkgs [--pm=apt|dnf|yum|zypper])" ;;
	esac
done

case ${NODESETSTATE:-} in
netboot | statelite)
	note "a diskless node ($NODESETSTATE): nothing installed here; put the packages in the image's otherpkglist (genimage) instead"
	exit 0
	;;
esac
if [ "${OTHERPKGS_INDEX:-0}" -eq 0 ]; then
	note "the osimage has no otherpkglist: nothing to install"
	exit 0
fi
[ -n "${OTHERPKGDIR_URL:-}" ] || die "the osimage has an otherpkglist but no otherpkgdir to install it from"
if [ -z "$PM" ]; then
	if command -v apt-get >/dev/null 2>&1; then
		PM=apt
	elif command -v dnf >/dev/null 2>&1; then
		PM=dnf
	elif command -v yum >/dev/null 2>&1; then
		PM=yum
	elif command -v zypper >/dev/null 2>&1; then
		PM=zypper
	else
		die "no apt-get, dnf, yum or zypper on this node"
	fi
fi

# the repositories: every otherpkgdir URL, and <url>/<dir> for each `dir/pkg` entry
REPOS=$(printf '%s' "$OTHERPKGDIR_URL" | tr ',' ' ')
_i=1
while [ "$_i" -le "$OTHERPKGS_INDEX" ]; do
	_l=""
	eval "_l=\${OTHERPKGS$_i:-}"
	for _p in $(printf '%s' "$_l" | tr ',' ' '); do
		# what reaches the package manager must be a name, never an option (---y, -/-o): checked
		# here, before any repository is written
		case $_p in --*) _n=${_p#--} ;; -*) _n=${_p#-} ;; *) _n=${_p##*/} ;; esac
		case $_n in -* | "") die "'$_p' in the otherpkglist is not a package name" ;; esac
		case $_p in
		*/*)
			_d=${_p%/*}
			for _u in $(printf '%s' "$OTHERPKGDIR_URL" | tr ',' ' '); do
				case " $REPOS " in *" $_u/$_d "*) ;; *) REPOS="$REPOS $_u/$_d" ;; esac
			done
			;;
		esac
	done
	_i=$((_i + 1))
done

write_repos() {
	case $PM in
	apt)
		mkdir -p /etc/apt/sources.list.d
		for _u in $REPOS; do echo "deb [trusted=yes] $_u ./"; done >/etc/apt/sources.list.d/xcimg-otherpkgs.list || die "cannot write the apt source"
		# only xcimg's source is read again: the node's own may be unreachable from the cluster
		apt-get update -o Dir::Etc::sourcelist=sources.list.d/xcimg-otherpkgs.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 ||
			die "apt-get update of $REPOS failed"
		;;
	dnf | yum)
		mkdir -p /etc/yum.repos.d
		_n=0
		for _u in $REPOS; do
			_n=$((_n + 1))
			printf '[xcimg-otherpkgs-%s]\nname=xcimg otherpkgs %s\nbaseurl=%s\nenabled=1\ngpgcheck=0\nskip_if_unavailable=0\n\n' "$_n" "$_n" "$_u"
		done >/etc/yum.repos.d/xcimg-otherpkgs.repo || die "cannot write /etc/yum.repos.d/xcimg-otherpkgs.repo"
		;;
	zypper)
		_n=0
		for _u in $REPOS; do
			_n=$((_n + 1))
			zypper -n rr "xcimg-otherpkgs-$_n" >/dev/null 2>&1
			zypper -n ar -G -f "$_u" "xcimg-otherpkgs-$_n" || die "zypper could not add $_u"
		done
		;;
	esac
}

# pm install|remove PKG...
pm() {
	_op=$1
	shift
	[ "$#" -gt 0 ] || return 0
	note "$_op $*"
	case $PM in
	apt) DEBIAN_FRONTEND=noninteractive apt-get -y "$_op" "$@" ;;
	dnf | yum) "$PM" -y "$_op" "$@" ;;
	zypper) if [ "$_op" = install ]; then zypper -n --gpg-auto-import-keys in "$@"; else zypper -n rm "$@"; fi ;;
	esac || die "$PM $_op $* failed"
}

write_repos
_i=1
while [ "$_i" -le "$OTHERPKGS_INDEX" ]; do
	_l=""
	eval "_l=\${OTHERPKGS$_i:-}"
	_pre='' _inst='' _post=''
	for _p in $(printf '%s' "$_l" | tr ',' ' '); do
		case $_p in
		--*) _post="$_post ${_p#--}" ;;
		-*) _pre="$_pre ${_p#-}" ;;
		*) _inst="$_inst ${_p##*/}" ;;
		esac
	done

	# shellcheck disable=SC2086 # package names, one word each
	pm remove $_pre
	# shellcheck disable=SC2086
	pm install $_inst
	# shellcheck disable=SC2086
	pm remove $_post
	_i=$((_i + 1))
done
note "done ($PM, from $REPOS)"
