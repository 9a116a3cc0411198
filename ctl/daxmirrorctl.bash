# shellcheck shell=bash
# daxmirrorctl(1) completion for bash: commands, options, session IDs
# (from `daxmirrorctl --no-legend list-sessions`) and files for `mirror`.
# Installed as DATADIR/bash-completion/completions/daxmirrorctl.

__daxmirrorctl_sessions() {
	local -a addr=()
	[[ -n ${1-} ]] && addr=(--bus-address "$1")
	daxmirrorctl "${addr[@]}" --no-legend --no-pager list-sessions 2>/dev/null |
		awk '{ print $1 }'
}

_daxmirrorctl() {
	local cur prev words cword
	_init_completion || return

	local -r commands='status list-sessions show-session revoke list-mirrors mirror'
	local -r global_opts='-h --help --version --json --no-pager --no-legend --bus-address'
	local -r mirror_opts='--offset --length --write --prefault --hold --watch --extents'
	local -r revoke_opts='--grace'
	local verb='' bus='' i

	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--bus-address)
			bus=${words[i + 1]-}
			((i++))
			;;
		--bus-address=*) bus=${words[i]#--bus-address=} ;;
		--offset | --length | --hold | --grace) ((i++)) ;;
		-*) ;;
		*)
			[[ -z $verb ]] && verb=${words[i]}
			;;
		esac
	done

	case $prev in
	--bus-address | --offset | --length | --hold | --grace)
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		if [[ $verb == mirror ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$global_opts $mirror_opts" -- "$cur")
		elif [[ $verb == revoke ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$global_opts $revoke_opts" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$global_opts" -- "$cur")
		fi
		return
	fi

	case $verb in
	'')
		mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		;;
	show-session | revoke | list-mirrors)
		mapfile -t COMPREPLY < <(compgen -W "$(__daxmirrorctl_sessions "$bus")" -- "$cur")
		;;
	mirror)
		_filedir
		;;
	esac
} &&
	complete -F _daxmirrorctl daxmirrorctl
