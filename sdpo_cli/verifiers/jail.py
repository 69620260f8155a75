"""Sandbox launcher, run as its own process: `python -I -S jail.py SPEC -- ARGV...`.

Standard library only, so it starts fast and imports nothing of the project. It sets up
the isolation the parent asked for, then execs ARGV. Modes:
  namespaces  (root): new mount, network, PID, IPC and UTS namespaces; no network at
              all; private tmpfs on /tmp (the working directory lives there), read-only
              tmpfs on /var/tmp and /dev/shm; a fresh /proc; runs as user nobody, so
              it cannot write anywhere a world user cannot, nor read root's processes.
  userns      (unprivileged): a user + network namespace: no network.
  limits      resource limits only.
Every mode applies the resource limits (CPU seconds, address space, file size,
process count). If a requested mode cannot be set up, the jail exits 125 and says why
on stderr: it never silently runs with less protection than was asked for.
"""

import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
NOBODY = 65534
JAILED_PYTHON = "/tmp/.python"
JAILED_WORKDIR = "/tmp/work"
SETUP_FAILED = 125

libc = ctypes.CDLL(None, use_errno=True)


def fail(message):
    sys.stderr.write(f"sandbox setup failed: {message}\n")
    sys.stderr.flush()
    os._exit(SETUP_FAILED)


def check(result, what):
    if result != 0:
        fail(f"{what}: {os.strerror(ctypes.get_errno())}")


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def set_limits(limits):
    pairs = [(resource.RLIMIT_CPU, limits["cpu_s"]), (resource.RLIMIT_AS, limits["as_bytes"]),
             (resource.RLIMIT_FSIZE, limits["fsize_bytes"]), (resource.RLIMIT_NPROC, limits["nproc"]),
             (resource.RLIMIT_CORE, 0)]
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


def read_files(directory):
    return {name: open(os.path.join(directory, name), "rb").read() for name in os.listdir(directory)}


def enter_namespaces(spec):
    """Root: new namespaces, private /tmp holding the work dir and the interpreter."""
    files = read_files(spec["workdir"])
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS),
          "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmpfs_mb']}m,mode=755")
    for path in ("/var/tmp", "/dev/shm"):
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=1m")
    # The interpreter may live under a directory that user nobody cannot enter (/root):
    # bind it read-only into the private /tmp.
    os.mkdir(JAILED_PYTHON)
    mount(spec["python_prefix"], JAILED_PYTHON, None, MS_BIND | MS_REC)
    mount(None, JAILED_PYTHON, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    os.mkdir(JAILED_WORKDIR, 0o700)
    for name, data in files.items():
        with open(os.path.join(JAILED_WORKDIR, name), "wb") as handle:
            handle.write(data)
    for name in [JAILED_WORKDIR] + [os.path.join(JAILED_WORKDIR, n) for n in files]:
        os.chown(name, NOBODY, NOBODY)
    return JAILED_WORKDIR


def run_as_pid_one(spec, argv, workdir):
    """Fork into the new PID namespace; the child becomes its init and execs the payload.
    Killing this process group kills the child, and with it every process in the namespace."""
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            os._exit(128 + os.WTERMSIG(status))
        os._exit(os.WEXITSTATUS(status))
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    set_limits(spec["limits"])
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    os.chdir(workdir)
    exec_payload(spec, argv, spec["python_jailed"])


def exec_payload(spec, argv, python):
    argv = [python if a == "{python}" else a for a in argv]
    try:
        os.execve(argv[0], argv, spec["env"])
    except OSError as exc:
        fail(f"cannot execute {argv[0]}: {exc.strerror}")


def main():
    spec = json.loads(sys.argv[1])
    argv = sys.argv[sys.argv.index("--") + 1:]
    mode = spec["mode"]
    if mode == "namespaces":
        if os.geteuid() != 0:
            fail("namespaces mode needs root")
        run_as_pid_one(spec, argv, enter_namespaces(spec))
    if mode == "userns":
        check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNET), "unshare")
    elif mode != "limits":
        fail(f"unknown mode {mode!r}")
    set_limits(spec["limits"])
    exec_payload(spec, argv, spec["python_host"])


if __name__ == "__main__":
    main()
