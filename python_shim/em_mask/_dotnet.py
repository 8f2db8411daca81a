"""Boot .NET inside this Python process and reach EM Mask's bridge classes.

The steps are those of pythonnet's own loader (clr_loader + ``pythonnet.load``), done here with ctypes so that
the plugin needs no PyPI package:

1. load ``libhostfxr`` from the .NET installation (``DOTNET_ROOT``, ``dotnet`` on ``PATH``, the usual prefixes);
2. ``hostfxr_initialize_for_runtime_config`` on ``EmMask.Host.runtimeconfig.json`` (net10.0);
3. get the ``load_assembly_and_get_function_pointer`` delegate and call ``Python.Runtime.Loader.Initialize`` from
   the NuGet pythonnet's ``Python.Runtime.dll`` with an empty buffer (= "Python is this process");
4. ``import clr`` now works; ``clr.AddReference`` loads ``EmMask.Host.dll``.

Nothing here runs at import time: :func:`bridge` boots on first use and caches the result (or the error).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

from ._errors import DotnetUnavailableError

__all__ = ["bridge", "core_problem", "find_core_dir", "find_dotnet_root", "BUILD_HINT"]

#: The one command (run in the repository root) that builds everything the plugin loads: the core it hosts
#: (EmMask.Host) and the U-Net worker process (EmMask.Worker). Quoted in every "not found" error.
BUILD_HINT = "dotnet build -c Release EmMaskPlugin.sln"
_WORKER_DLL = "EmMask.Worker.dll"

_HOST_DLL = "EmMask.Host.dll"
_RUNTIME_CONFIG = "EmMask.Host.runtimeconfig.json"
_PYTHON_RUNTIME_DLL = "Python.Runtime.dll"

# hostfxr_delegate_type.hdt_load_assembly_and_get_function_pointer (hostfxr.h)
_HDT_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER = 5

_lock = threading.Lock()
_bridge: SimpleNamespace | None = None
_failure: DotnetUnavailableError | None = None
_keepalive: list = []  # ctypes objects whose lifetime must match the process's


def _repo_root() -> Path:
    # python_shim/em_mask/_dotnet.py -> repository root (in a source checkout or an editable install).
    return Path(__file__).resolve().parents[2]


def find_core_dir() -> Path:
    """Return the folder holding the built ``EmMask.Host.dll`` and its dependencies.

    Looks at ``$EM_MASK_DOTNET_DIR`` when it is set (and only there), otherwise at the build output of the source
    checkout (``dotnet/EmMask.Host/bin/{Release,Debug}/net10.0``, newest build first) and at a ``dotnet/`` folder
    bundled inside the installed package.

    Raises
    ------
    DotnetUnavailableError
        When no candidate holds ``EmMask.Host.dll``, ``Python.Runtime.dll`` and the runtimeconfig.
    """
    override = os.environ.get("EM_MASK_DOTNET_DIR")
    if override:
        candidates = [Path(override)]
    else:
        build = _repo_root() / "dotnet" / "EmMask.Host" / "bin"
        candidates = [build / config / "net10.0" for config in ("Release", "Debug")]
        candidates.append(Path(__file__).resolve().parent / "dotnet")
        # Prefer the most recent build when both configurations exist.
        candidates.sort(key=lambda d: -(d / _HOST_DLL).stat().st_mtime if (d / _HOST_DLL).is_file() else 0)

    needed = (_HOST_DLL, _RUNTIME_CONFIG, _PYTHON_RUNTIME_DLL)
    for folder in candidates:
        if all((folder / name).is_file() for name in needed):
            return folder

    looked = ", ".join(str(c) for c in candidates)
    where = "EM_MASK_DOTNET_DIR" if override else "the build output"
    raise DotnetUnavailableError(
        f"EM Mask's .NET core is not built: no {_HOST_DLL} with {_PYTHON_RUNTIME_DLL} and {_RUNTIME_CONFIG} in "
        f"{where} ({looked}). Build it from the repository root with `{BUILD_HINT}` (needs the .NET 10 SDK), "
        "or set EM_MASK_DOTNET_DIR to a folder holding that build."
    )


def find_dotnet_root() -> Path:
    """Return the .NET installation root (the folder with ``host/fxr/<version>/libhostfxr``).

    Looks at ``$DOTNET_ROOT``, then at the ``dotnet`` executable on ``PATH`` (symlinks resolved), then at
    ``/usr/share/dotnet``, ``/usr/lib/dotnet``, ``/usr/local/share/dotnet`` and ``~/.dotnet``.
    """
    candidates: list[Path] = []
    if os.environ.get("DOTNET_ROOT"):
        candidates.append(Path(os.environ["DOTNET_ROOT"]))
    exe = shutil.which("dotnet")
    if exe:
        candidates.append(Path(exe).resolve().parent)
    candidates += [Path(p) for p in ("/usr/share/dotnet", "/usr/lib/dotnet", "/usr/local/share/dotnet")]
    candidates.append(Path.home() / ".dotnet")
    if sys.platform == "win32":
        candidates.append(Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / "dotnet")
    for root in candidates:
        if _hostfxr_in(root) is not None:
            return root
    raise DotnetUnavailableError(
        "No .NET runtime found (looked for host/fxr/*/libhostfxr in "
        + ", ".join(str(c) for c in candidates)
        + "). Install the .NET 10 runtime (the SDK is needed to build the core: "
        f"`{BUILD_HINT}`), or set DOTNET_ROOT to its folder."
    )


def _hostfxr_name() -> str:
    if sys.platform == "win32":
        return "hostfxr.dll"
    if sys.platform == "darwin":
        return "libhostfxr.dylib"
    return "libhostfxr.so"


def _version_key(name: str) -> tuple:
    parts = []
    for piece in name.replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def _hostfxr_in(root: Path) -> Path | None:
    fxr = root / "host" / "fxr"
    if not fxr.is_dir():
        return None
    for version in sorted((p.name for p in fxr.iterdir()), key=_version_key, reverse=True):
        lib = fxr / version / _hostfxr_name()
        if lib.is_file():
            return lib
    return None


def _encode(text: str):
    # char_t is wchar_t on Windows, UTF-8 char elsewhere.
    return text if sys.platform == "win32" else text.encode("utf-8")


def _boot() -> SimpleNamespace:
    core_dir = find_core_dir()
    if "clr" not in sys.modules:
        _start_pythonnet(core_dir)
    try:
        import clr  # noqa: F401  (provided by Python.Runtime once initialised)

        clr.AddReference(str(core_dir / _HOST_DLL))
        import System  # type: ignore[import-not-found]
        from EmMask.Host.Bridge import BridgeJob, LentBuffers, NumpyBridge  # type: ignore[import-not-found]
    except Exception as exc:  # noqa: BLE001 - any failure here means the build is unusable
        raise DotnetUnavailableError(
            f"Could not load {core_dir / _HOST_DLL} into Python ({type(exc).__name__}: {exc}). "
            f"Rebuild it with `{BUILD_HINT}`."
        ) from exc
    return SimpleNamespace(
        core_dir=core_dir,
        NumpyBridge=NumpyBridge,
        BridgeJob=BridgeJob,
        LentBuffers=LentBuffers,
        Int64Array=System.Array[System.Int64],
    )


def _start_pythonnet(core_dir: Path) -> None:
    root = find_dotnet_root()
    hostfxr_path = _hostfxr_in(root)
    char_p = ctypes.c_wchar_p if sys.platform == "win32" else ctypes.c_char_p
    try:
        fxr = ctypes.CDLL(str(hostfxr_path))
    except OSError as exc:
        raise DotnetUnavailableError(f"Could not load {hostfxr_path}: {exc}") from exc

    # Collect hostfxr's own diagnostics so a failure can say *why* (e.g. "framework 10.0.0 not found").
    messages: list[str] = []
    writer_type = ctypes.CFUNCTYPE(None, char_p)

    def _writer(message):
        messages.append(message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message))

    writer = writer_type(_writer)
    _keepalive.append(writer)
    fxr.hostfxr_set_error_writer.restype = ctypes.c_void_p
    fxr.hostfxr_set_error_writer.argtypes = [writer_type]
    fxr.hostfxr_set_error_writer(writer)

    class InitParameters(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("host_path", char_p), ("dotnet_root", char_p)]

    params = InitParameters(ctypes.sizeof(InitParameters), None, _encode(str(root)))
    handle = ctypes.c_void_p()
    fxr.hostfxr_initialize_for_runtime_config.restype = ctypes.c_int32
    fxr.hostfxr_initialize_for_runtime_config.argtypes = [char_p, ctypes.POINTER(InitParameters), ctypes.POINTER(ctypes.c_void_p)]
    rc = fxr.hostfxr_initialize_for_runtime_config(_encode(str(core_dir / _RUNTIME_CONFIG)), ctypes.byref(params), ctypes.byref(handle))
    # 0 = Success, 1 = Success_HostAlreadyInitialized, 2 = Success_DifferentRuntimeProperties
    if rc < 0 or not handle.value:
        raise _hostfxr_error("hostfxr_initialize_for_runtime_config", rc, messages, root)

    load_fn_ptr = ctypes.c_void_p()
    fxr.hostfxr_get_runtime_delegate.restype = ctypes.c_int32
    fxr.hostfxr_get_runtime_delegate.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
    rc = fxr.hostfxr_get_runtime_delegate(handle, _HDT_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER, ctypes.byref(load_fn_ptr))
    if rc < 0 or not load_fn_ptr.value:
        raise _hostfxr_error("hostfxr_get_runtime_delegate", rc, messages, root)

    load_type = ctypes.CFUNCTYPE(
        ctypes.c_int32, char_p, char_p, char_p, char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
    )
    load_assembly_and_get_function_pointer = load_type(load_fn_ptr.value)
    initialize_ptr = ctypes.c_void_p()
    rc = load_assembly_and_get_function_pointer(
        _encode(str(core_dir / _PYTHON_RUNTIME_DLL)),
        _encode("Python.Runtime.Loader, Python.Runtime"),
        _encode("Initialize"),
        None,  # default delegate type: int (IntPtr data, int size)
        None,
        ctypes.byref(initialize_ptr),
    )
    if rc < 0 or not initialize_ptr.value:
        raise _hostfxr_error("load_assembly_and_get_function_pointer(Python.Runtime.Loader.Initialize)", rc, messages, root)

    # component_entry_point_fn: int (void* arg, int32 size). CFUNCTYPE releases the GIL around the call and
    # Loader.Initialize takes it back with Py.GIL(); an empty buffer means "use the Python of this process".
    entry_type = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32)
    initialize = entry_type(initialize_ptr.value)
    empty = ctypes.create_string_buffer(b"", 1)
    if initialize(ctypes.cast(empty, ctypes.c_void_p), 0) != 0:
        raise DotnetUnavailableError(
            "Python.Runtime.Loader.Initialize failed (see the message on stderr); "
            f"the pythonnet in {core_dir} may not support Python {sys.version_info.major}.{sys.version_info.minor}."
        )
    _keepalive.extend([fxr, load_assembly_and_get_function_pointer, initialize, handle])


def _hostfxr_error(step: str, rc: int, messages: list[str], root: Path) -> DotnetUnavailableError:
    detail = " ".join(m.strip() for m in messages if m.strip())
    return DotnetUnavailableError(
        f"Could not start .NET from {root}: {step} returned 0x{rc & 0xFFFFFFFF:08X}. {detail} "
        "EM Mask needs the .NET 10 runtime (Microsoft.NETCore.App 10.x); build the core with "
        f"`{BUILD_HINT}`."
    )


def _worker_present(core_dir: Path) -> bool:
    """Cheap look for the U-Net worker where ``EmMask.Host.Worker.WorkerLocator`` looks (without .NET)."""
    explicit = os.environ.get("EM_MASK_WORKER")
    if explicit:
        return Path(explicit).exists()
    if (core_dir / _WORKER_DLL).is_file():
        return True
    for folder in (core_dir, *core_dir.parents):
        bin_dir = folder / "dotnet" / "EmMask.Worker" / "bin"
        if bin_dir.is_dir():
            return any(bin_dir.glob(f"*/*/{_WORKER_DLL}"))
    return False


def core_problem(worker: bool = False) -> str | None:
    """Why the plugin cannot run here, in one sentence naming the command that fixes it; None when it can.

    Cheap (file look-ups only; .NET is not started), so a panel can call it when it is built.

    Parameters
    ----------
    worker : bool
        Also require the U-Net worker process (EmMask.Worker).
    """
    root = _repo_root()
    where = f"in {root}" if (root / "EmMaskPlugin.sln").is_file() else "in the repository root"
    try:
        core_dir = find_core_dir()
    except DotnetUnavailableError as exc:
        if os.environ.get("EM_MASK_DOTNET_DIR"):
            return str(exc)
        return (f"EM Mask's .NET core is not built yet. Run once, {where}: `{BUILD_HINT}` (needs the .NET 10 SDK), "
                "then open this panel again.")
    try:
        find_dotnet_root()
    except DotnetUnavailableError as exc:
        return str(exc)
    if worker and not _worker_present(core_dir):
        return (f"EM Mask's U-Net worker (EmMask.Worker) is not built yet. Run once, {where}: `{BUILD_HINT}`, "
                "then open this panel again (or set EM_MASK_WORKER to a built EmMask.Worker).")
    return None


def bridge() -> SimpleNamespace:
    """Return the booted bridge: ``NumpyBridge`` and ``BridgeJob`` types and the core's folder.

    The first call starts .NET in this process (about 0.3 s); later calls return the cached namespace. A failure
    is cached too, since hostfxr cannot be initialised twice in one process.

    Raises
    ------
    DotnetUnavailableError
        When .NET or the built core is missing; the message says how to build it.
    """
    global _bridge, _failure
    if _bridge is not None:
        return _bridge
    with _lock:
        if _bridge is None:
            if _failure is not None:
                raise _failure
            try:
                _bridge = _boot()
            except DotnetUnavailableError as exc:
                # A missing build can be fixed without restarting Python (build, then retry), so only failures
                # after .NET started are final.
                if "clr" in sys.modules:
                    _failure = exc
                raise
    return _bridge
