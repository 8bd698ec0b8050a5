#!/usr/bin/env python3
"""Runs a command in a real pseudo-terminal, as a terminal would, and types Ctrl-C.

The child is a session leader with the pty as its controlling terminal (pty.fork), so typing
\\x03 makes the kernel's line discipline send SIGINT to the whole foreground process group,
exactly what a user's Ctrl-C does (termios ISIG; POSIX "General Terminal Interface").

usage: pty-ctrl-c.py TRIGGER_REGEX DEADLINE_S -- CMD ARGS...
Ctrl-C is typed once the output matches TRIGGER_REGEX. The output is copied to stdout; the exit
status is the child's (128+N when killed by signal N). A child not gone by the deadline is killed
and the status is 124.
"""
import os, pty, re, select, signal, sys, time

trigger = re.compile(sys.argv[1].encode())
deadline = time.time() + float(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
buf = b""
sent = False
while True:
    if time.time() > deadline:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write("\n[pty] deadline passed\n")
        sys.exit(124)
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    if not sent and trigger.search(buf):
        os.write(fd, b"\x03")
        sent = True
        sys.stdout.write("\n[pty] typed Ctrl-C\n")
        sys.stdout.flush()
_, status = os.waitpid(pid, 0)
if not sent:
    sys.stdout.write("\n[pty] trigger never matched\n")
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
