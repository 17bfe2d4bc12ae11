#!/bin/bash
# chassis_control hook of the simulated BMCs (tests/integration/bmc).
#
# ipmi_sim runs, through /bin/sh -c, "<chassis_control string> get|set PARM [VALUE]":
#   get power | get boot            -> print "power:0|1" / "boot:DEV", exit 0
#   set power "1"|"0", set reset "1", set shutdown "1", set boot pxe|default|...
# Our string is "/bin/bash chassis_hook.sh DIR": $1 is the sim's directory, which
# holds the state (power, boot), the log of every call (hook.log, one line per call,
# "OP ARGS") and an optional knob: a file "delay" with seconds to sleep on "set"
# (a slow BMC), and a file "no_power_on": "set power 1" is accepted (exit 0) but
# the power stays off (a BMC that confirms power-on while the host never starts).
# Non-zero exit makes ipmi_sim answer completion code 0xff.
#
# Rules: ipmi_sim is single-threaded and waits for us, so return in well under
# 100 ms (the delay knob aside). ipmi_sim hands us its UDP socket: close every fd
# above stderr first, so nothing we start can keep the socket open. fd 255 is bash's
# own handle on this script.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

dir=$1 op=$2
shift 2
echo "$op $*" >>"$dir/hook.log"
if [ "$op" = set ] && [ -f "$dir/delay" ]; then
	sleep "$(cat "$dir/delay")"
fi

case $op in
get)
	for p in "$@"; do
		case $p in
		power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
		boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo none)" ;;
		*) exit 1 ;;
		esac
	done
	;;
set)
	while [ $# -ge 2 ]; do
		p=$1 v=$2
		shift 2
		case $p in
		power)
			[ "$v" = 1 ] && [ -f "$dir/no_power_on" ] && continue
			echo "$v" >"$dir/power"
			;;
		boot) echo "$v" >"$dir/boot" ;;
		shutdown) echo 0 >"$dir/power" ;; # a cooperative OS powers off
		reset | identify) ;;
		*) exit 1 ;;
		esac
	done
	;;
*) exit 1 ;;
esac
exit 0
