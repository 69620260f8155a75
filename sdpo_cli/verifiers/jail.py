"""Sandbox launcher, run as its own process: `python -I -S jail.py SPEC -- ARGV...`.

Standard library only, so it starts fast and imports nothing of the project. It sets up
the isolation the parent asked for, then execs ARGV. Modes:
  namespaces  (root) and userns (unprivileged, through a user namespace): new mount,
              network, PID, IPC and UTS namespaces. The program sees a minimal
              read-only root: the system directories (/usr and its links), the
              interpreter's prefix without its site-packages, a few device nodes, a
              fresh /proc and a private, size-limited /tmp holding its working
              directory. No home, no project, no problem or run directory. PID 1 of
              the namespace is this launcher's own small init: it dies with its parent
              (a parent-death signal), and when it dies the kernel kills every process
              in the namespace, `setsid` escapes included. The program runs under a uid
              of its own (root: a uid no other sandbox holds; userns: a non-root uid of
              its private user namespace), so the process limit is per sandbox.
  limits      resource limits only; the parent allows it only when asked for by name.
Every mode applies the resource limits (CPU seconds, address space, file size, process
count), no_new_privs, and on x86-64 a seccomp filter that refuses the calls a payload
could use against the jail (namespaces, mounts, ptrace, keyrings, bpf, kernel modules).
If a requested mode cannot be set up, the jail exits 125 and says why on stderr: it
never silently runs with less protection than was asked for.
"""

import ctypes
import json
import os
import platform
import resource
import select
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
CLONE_NEWCGROUP = 0x02000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 38, 22
SANDBOX_UID_BASE = 0x60000000  # root mode: uid = base + this launcher's pid, unique while it lives
USERNS_UID = 1000  # userns mode: the program's uid inside its user namespace
WORKDIR = "/tmp/work"
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
DEVICES = ("null", "zero", "full", "random", "urandom")
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
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def set_limits(limits):
    pairs = [
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_AS, limits["as_bytes"]),
        (resource.RLIMIT_FSIZE, limits["fsize_bytes"]),
        (resource.RLIMIT_NPROC, limits["nproc"]),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


def read_files(directory):
    files = {}
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), "rb") as handle:
            files[name] = handle.read()
    return files


# -- the payload's own restrictions ------------------------------------------------------
# x86-64 numbers of the calls refused with EPERM: ptrace, mount, umount2, pivot_root,
# chroot, unshare, setns, keyctl, add_key, request_key, bpf, perf_event_open,
# process_vm_readv/writev, kexec_load, kexec_file_load, init/finit/delete_module,
# reboot, swapon, swapoff, userfaultfd, open_by_handle_at, name_to_handle_at,
# io_uring_setup, fsopen, fsmount, move_mount, open_tree.
DENIED_X86_64 = (
    101,
    165,
    166,
    155,
    161,
    272,
    308,
    250,
    248,
    249,
    321,
    298,
    310,
    311,
    246,
    320,
    175,
    313,
    176,
    169,
    167,
    168,
    323,
    304,
    303,
    425,
    430,
    432,
    429,
    428,
)
CLONE_X86_64, CLONE3_X86_64 = 56, 435
AUDIT_ARCH_X86_64 = 0xC000003E


class SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint),
    ]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def seccomp_program():
    """The filter as (code, jt, jf, k) rows; None where the architecture has no table."""
    if platform.machine() != "x86_64":
        return None
    load, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    namespace_flags = NAMESPACES | CLONE_NEWUSER | CLONE_NEWCGROUP
    body = [(jge, "EPERM", 0, 0x40000000)]  # the x32 ABI: refused whole
    body += [(jeq, "EPERM", 0, nr) for nr in DENIED_X86_64]
    body += [
        (jeq, "ENOSYS", 0, CLONE3_X86_64),  # glibc falls back to clone on ENOSYS
        (jeq, 0, "ALLOW", CLONE_X86_64),
        (load, 0, 0, 16),  # clone's flags (first argument, low word)
        (jset, "EPERM", "ALLOW", namespace_flags),
    ]
    rows = [(load, 0, 0, 4), (jeq, 1, 0, AUDIT_ARCH_X86_64), (ret, 0, 0, kill), (load, 0, 0, 0)]
    rows += body
    labels = {"ALLOW": len(rows), "EPERM": len(rows) + 1, "ENOSYS": len(rows) + 2}
    rows += [(ret, 0, 0, allow), (ret, 0, 0, eperm), (ret, 0, 0, enosys)]

    def jump(target, at):
        return labels[target] - at - 1 if isinstance(target, str) else target

    return [(code, jump(jt, i), jump(jf, i), k) for i, (code, jt, jf, k) in enumerate(rows)]


def restrict_payload():
    """no_new_privs, then the seccomp filter where the architecture has one."""
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    program = seccomp_program()
    if program is None:
        return
    rows = (SockFilter * len(program))(*[SockFilter(*row) for row in program])
    fprog = SockFprog(len(program), rows)
    check(libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0), "seccomp")


def exec_payload(spec, argv):
    argv = [spec["python"] if a == "{python}" else a for a in argv]
    try:
        os.execve(argv[0], argv, spec["env"])
    except OSError as exc:
        fail(f"cannot execute {argv[0]}: {exc.strerror}")


# -- the minimal root --------------------------------------------------------------------
def bind(source, target, writable=False):
    """Bind `source` (a path under the old root) onto `target`, read-only unless asked;
    flags the source mount is locked with (noexec) are kept, as a user namespace needs."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND)
    if writable:
        return
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    if os.statvfs(target).f_flag & os.ST_NOEXEC:
        flags |= MS_NOEXEC
    mount(None, target, None, flags)


def build_root(spec, files, uid):
    """Pivot into a fresh tmpfs and lay out what the program may see (the old root
    stays reachable under /.old until the end, then it is detached)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    os.mkdir("/tmp/.old")
    check(
        libc.syscall(155 if platform.machine() == "x86_64" else 41, b"/tmp", b"/tmp/.old"),
        "pivot_root",
    )
    os.chdir("/")
    old = "/.old"
    bound = []
    for path in SYSTEM_PATHS + (spec["python_prefix"],):
        source = old + path
        if any(path == b or path.startswith(b + "/") for b in bound) or not os.path.lexists(source):
            continue
        if os.path.islink(source):
            os.symlink(os.readlink(source), path)
            continue
        bind(source, path)
        bound.append(path)
    site = spec.get("python_site")
    if site and os.path.isdir(site):  # other packages stay out of sight
        mount("tmpfs", site, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k")
    if os.path.exists(old + "/etc/ld.so.cache"):
        bind(old + "/etc/ld.so.cache", "/etc/ld.so.cache")
    os.mkdir("/dev")
    for name in DEVICES:
        if os.path.exists(f"{old}/dev/{name}"):
            bind(f"{old}/dev/{name}", f"/dev/{name}", writable=True)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"/dev/{name}")
    os.mkdir("/proc")
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.mkdir("/tmp", 0o1777)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmpfs_mb']}m,mode=1777")
    os.mkdir(WORKDIR, 0o700)
    for name, data in files.items():
        with open(os.path.join(WORKDIR, name), "wb") as handle:
            handle.write(data)
    for path in [WORKDIR] + [os.path.join(WORKDIR, n) for n in files]:
        os.chown(path, uid, uid)
    check(libc.umount2(old.encode(), MNT_DETACH), "detach the old root")
    os.rmdir(old)
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


# -- PID 1 of the namespace --------------------------------------------------------------
def run_init(spec, argv, files, uid, parent_alive, as_root):
    """PID 1: dies with the launcher, builds the root, runs the payload as `uid`, reaps
    orphans, and exits with the payload's status (which kills whatever is left)."""
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
    if select.select([parent_alive], [], [], 0)[0]:  # the launcher died before the prctl
        os._exit(SETUP_FAILED)
    build_root(spec, files, uid)
    child = os.fork()
    if child == 0:
        set_limits(spec["limits"])
        if as_root:
            os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.chdir(WORKDIR)
        restrict_payload()
        exec_payload(spec, argv)
    while True:
        pid, status = os.wait()
        if pid == child:
            break
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def enter_user_namespace():
    """A user namespace in which this process, and then the program, is USERNS_UID.
    Unprivileged, each sandbox's namespace keeps its own process count (Linux >= 5.14);
    root's own processes are exempt from process limits, so root uses namespaces mode."""
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    uid_map, gid_map = f"{USERNS_UID} {outer_uid} 1", f"{USERNS_UID} {outer_gid} 1"
    check(libc.unshare(CLONE_NEWUSER | NAMESPACES), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", uid_map), ("gid_map", gid_map)):
        try:
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        except OSError as exc:
            fail(f"write /proc/self/{name}: {exc.strerror}")
    return USERNS_UID


def isolate(spec, argv):
    files = read_files(spec["workdir"])
    if spec["mode"] == "namespaces":
        if os.geteuid() != 0:
            fail("namespaces mode needs root")
        check(libc.unshare(NAMESPACES), "unshare")
        uid, as_root = SANDBOX_UID_BASE + os.getpid(), True
    else:
        uid, as_root = enter_user_namespace(), False
    alive_read, alive_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_write)
        run_init(spec, argv, files, uid, alive_read, as_root)
    os.close(alive_read)
    _, status = os.waitpid(pid, 0)
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def die_with_parent():
    """Die with the sdpo process that started us, even if it is killed outright."""
    parent = os.getppid()
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
    if os.getppid() != parent:
        os._exit(SETUP_FAILED)


def main():
    die_with_parent()
    spec = json.loads(sys.argv[1])
    argv = sys.argv[sys.argv.index("--") + 1 :]
    mode = spec["mode"]
    if mode in ("namespaces", "userns"):
        isolate(spec, argv)
    elif mode != "limits":
        fail(f"unknown mode {mode!r}")
    set_limits(spec["limits"])
    restrict_payload()
    exec_payload(spec, argv)


if __name__ == "__main__":
    main()
