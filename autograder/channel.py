"""The narrow channel between the grader and a student's sandboxed process.

Both ends speak JSON lines over a pair of dedicated pipe file descriptors (never stdout).
Only plain data crosses: ``None``, bools, ints, floats, complex numbers, strings, lists,
tuples, dicts with string keys, numpy arrays and scalars of a whitelisted dtype
(bool / int / uint / float / complex, sent as dtype + shape + base64 bytes), numpy
``Generator`` objects (sent as their bit generator's state) and *callables*, which are
never sent: the sender keeps the function in a table and the receiver gets a proxy that
calls back over the channel. Nothing is ever pickled.

Work is bounded on both ends, and above all on the grader's: every array is counted
(elements, with zero-length axes counted as one, and encoded bytes) *before* it is
decoded or encoded, so a 100-byte ``np.zeros((2**25, 0))`` is refused as 2**25 elements
of work and an oversized reply fails before any JSON of it exists; raw messages are
checked for bracket depth before ``json.loads`` (which recurses); calls the grader
serves for the student (the tests' callbacks) take at most
:data:`MAX_CALLBACK_ELEMENTS` and run under a memory budget (:func:`memory_budget`).

This module is imported by the grader and by ``harness.py`` inside the sandbox, so it
imports nothing but the standard library and numpy, and it holds no tests.
"""

import base64
import builtins
import contextlib
import errno
import itertools
import json
import math
import os
import re
import resource
import select
import time

import numpy as np

MAX_MESSAGE_BYTES = 64 << 20
"""Largest JSON line either end accepts (64 MiB)."""

MAX_DEPTH = 32
"""Deepest nesting of lists / tuples / dicts that is encoded or decoded."""

MAX_NODES = 1_000_000
"""Most values (counting every list element) in one message."""

MAX_STRING = 1 << 20
"""Longest string (characters) in one value."""

MAX_ELEMENTS = 16 << 20
"""Most array elements (counted by :func:`array_work`) in one message."""

MAX_CALLBACK_ELEMENTS = 1 << 20
"""Most array elements in the arguments of one call the grader serves (a callback of a
test, called by the student's code): the grader computes on them, so they are cheap for
the student and must stay cheap for the grader."""

CALLBACK_MEMORY_BUDGET = 512 << 20
"""Memory a callback served by the grader may allocate on top of what the grader holds."""

MAX_JSON_DEPTH = 4 * MAX_DEPTH + 16
"""Deepest bracket nesting of a raw message (each value level adds at most four)."""

ALLOWED_DTYPE_KINDS = "biufc"
"""numpy dtype kinds that may cross: bool, signed int, unsigned int, float, complex."""

BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
"""numpy bit generators whose state may cross (the state is plain ints and int arrays)."""


class ChannelError(Exception):
    """The other end broke the protocol (bad JSON, forbidden type, too large, ...)."""


class ChannelClosed(ChannelError):
    """The other end went away (its process exited or closed the pipe)."""


class ChannelTimeout(ChannelError):
    """No complete message arrived before the deadline."""


class RemoteError(Exception):
    """The function called on the other side raised; carries its type name and message."""

    remote_type = "Exception"


def remote_exception(type_name, message):
    """An exception to raise locally for an exception the other side reported.

    Built-in exception types keep their class as a base, so a test that expects, say, a
    ``ValueError`` from the student's function still catches it. Nothing is imported or
    looked up by name except attributes of :mod:`builtins`.
    """
    name = str(type_name)
    if not (name.isascii() and name.isidentifier()) or len(name) > 100:
        name = "Exception"  # a forged name (NUL, surrogates, spaces) is not a type name
    base = getattr(builtins, name, None)
    bases = (RemoteError,)
    # Iteration-control exceptions would end a generator or map() in the grader early.
    usable = (
        isinstance(base, type)
        and issubclass(base, Exception)
        and base is not RemoteError
        and not issubclass(base, (StopIteration, StopAsyncIteration))
    )
    if usable:
        bases = (RemoteError, base)
    try:
        cls = type(f"Remote{name}", bases, {"remote_type": name})
        return cls(f"{name}: {message}")
    except Exception:  # incompatible layouts (e.g. OSError subclasses)
        err = RemoteError(f"{name}: {message}")
        err.remote_type = name
        return err


# --------------------------------------------------------------------------- encoding


def _check_dtype(dtype):
    if dtype.kind not in ALLOWED_DTYPE_KINDS or dtype.fields is not None or dtype.subdtype:
        raise ChannelError(f"arrays of dtype {dtype} cannot be sent (only bool/int/float/complex)")


def array_work(shape):
    """Elements of work an array of ``shape`` stands for: zero-length axes count as one,
    so ``(2**25, 0)`` is 2**25 -- code looping over the rows still does that much."""
    return math.prod(max(int(n), 1) for n in shape)


def encode_array(array, budget=None):
    """``{"__ndarray__": {dtype, shape, data}}`` for a numpy array of a whitelisted dtype.

    ``budget`` (a :class:`Codec`) is charged for the array before anything is built."""
    array = np.asarray(array)
    _check_dtype(array.dtype)
    if budget is not None:
        budget.charge(array.shape, array.dtype.itemsize)
    array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "__ndarray__": {
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes(order="C")).decode("ascii"),
        }
    }


def decode_array(spec, budget=None):
    """The numpy array described by :func:`encode_array`'s payload (validated, copied);
    ``budget`` (a :class:`Codec`) is charged for its shape before the data is decoded."""
    if not isinstance(spec, dict):
        raise ChannelError("malformed array")
    dtype_str, shape, data = spec.get("dtype"), spec.get("shape"), spec.get("data")
    if not isinstance(dtype_str, str) or not isinstance(data, str) or not isinstance(shape, list):
        raise ChannelError("malformed array")
    if len(dtype_str) > 8 or not dtype_str.isascii():
        raise ChannelError("malformed array dtype")
    try:
        dtype = np.dtype(dtype_str)
    except TypeError as exc:
        raise ChannelError(f"unknown dtype {dtype_str!r}") from exc
    _check_dtype(dtype)
    if len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise ChannelError("malformed array shape")
    if budget is not None:
        budget.charge(shape, dtype.itemsize)
    elif array_work(shape) > MAX_ELEMENTS:
        raise ChannelError(f"array of shape {tuple(shape)} is too large")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw):
        raise ChannelError("array data does not match its dtype and shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _encode_float(x):
    if math.isfinite(x):
        return x
    return {"__float__": repr(x)}  # 'nan', 'inf', '-inf'


class Codec:
    """Turns values into JSON-able data and back.

    ``export`` is called with a local callable and returns an integer id under which the
    other side can call it; ``make_proxy`` turns a received id into a local callable.
    Generators that were decoded are remembered in :attr:`received_rngs` so that their
    final state can be sent back after a call.
    """

    def __init__(
        self, export=None, make_proxy=None, max_elements=MAX_ELEMENTS, max_bytes=MAX_MESSAGE_BYTES
    ):
        self.export = export
        self.make_proxy = make_proxy
        self.max_elements = max_elements
        self.max_bytes = max_bytes
        self.received_rngs = []
        self.sent_rngs = []
        self._nodes = 0
        self._elements = 0
        self._bytes = 0

    def charge(self, shape, itemsize):
        """Count an array against this message's limits before it is built or decoded:
        elements (zero-length axes count, see :func:`array_work`) and encoded bytes."""
        self._elements += array_work(shape)
        self._bytes += 4 * (math.prod(shape) * itemsize + 2) // 3
        if self._elements > self.max_elements:
            raise ChannelError(
                f"arrays of more than {self.max_elements} elements in one "
                f"message (shape {tuple(shape)})"
            )
        if self._bytes > self.max_bytes:
            raise ChannelError(f"arrays of more than {self.max_bytes >> 20} MiB in one message")

    # -- encode
    def encode(self, value):
        self._nodes = self._elements = self._bytes = 0
        return self._enc(value, 0)

    def _count(self, depth):
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ChannelError(f"value has more than {MAX_NODES} elements")
        if depth > MAX_DEPTH:
            raise ChannelError(f"value nested deeper than {MAX_DEPTH}")

    def _enc(self, value, depth):
        self._count(depth)
        if value is None or type(value) in (bool, str):
            if type(value) is str:
                if len(value) > MAX_STRING:
                    raise ChannelError("string too long")
                self._bytes += len(value)
            return value
        if type(value) is int:
            return value
        if type(value) is float:
            return _encode_float(value)
        if type(value) is complex:
            return {"__complex__": [_encode_float(value.real), _encode_float(value.imag)]}
        if isinstance(value, np.ndarray):
            return encode_array(value, self)
        if isinstance(value, np.generic):
            return {"__npscalar__": encode_array(np.asarray(value), self)["__ndarray__"]}
        if type(value) is list:
            return [self._enc(v, depth + 1) for v in value]
        if type(value) is tuple:
            return {"__tuple__": [self._enc(v, depth + 1) for v in value]}
        if type(value) is dict:
            if not all(type(k) is str for k in value):
                raise ChannelError("only dicts with string keys can be sent")
            return {"__dict__": [[k, self._enc(v, depth + 1)] for k, v in value.items()]}
        if isinstance(value, np.random.Generator):
            return self._enc_rng(value, depth)
        if callable(value) and self.export is not None:
            return {"__callable__": self.export(value)}
        return self._enc_other(value, depth)

    def _enc_rng(self, rng, depth):
        bitgen = rng.bit_generator
        name = type(bitgen).__name__
        if name not in BIT_GENERATORS:
            raise ChannelError(f"generators with bit generator {name} cannot be sent")
        tag = len(self.sent_rngs)
        self.sent_rngs.append(rng)
        return {
            "__rng__": {
                "tag": tag,
                "bit_generator": name,
                "state": self._enc(bitgen.state, depth + 1),
            }
        }

    def _enc_other(self, value, depth):
        """Subclasses of plain types and array-likes (e.g. tensors) become plain values."""
        for plain in (bool, int, float, complex, str, list, tuple, dict):
            if isinstance(value, plain):
                return self._enc(plain(value), depth)
        if hasattr(value, "__array__"):
            try:
                array = np.asarray(value)
            except Exception as exc:  # noqa: BLE001 - any failure means "cannot send"
                raise ChannelError(f"cannot convert {type(value).__name__} to an array") from exc
            if array.dtype.kind in ALLOWED_DTYPE_KINDS:
                return encode_array(array, self)
        raise ChannelError(f"values of type {type(value).__name__} cannot be sent")

    # -- decode
    def decode(self, data):
        self._nodes = self._elements = self._bytes = 0
        return self._dec(data, 0)

    def _dec(self, data, depth):
        self._count(depth)
        if data is None or type(data) in (bool, int, float):
            return data
        if type(data) is str:
            if len(data) > MAX_STRING:
                raise ChannelError("string too long")
            return data
        if type(data) is list:
            return [self._dec(v, depth + 1) for v in data]
        if type(data) is not dict or len(data) != 1:
            raise ChannelError("malformed value")
        ((tag, payload),) = data.items()
        if tag == "__float__":
            if payload not in ("nan", "inf", "-inf"):
                raise ChannelError("malformed float")
            return float(payload)
        if tag == "__complex__":
            if type(payload) is not list or len(payload) != 2:
                raise ChannelError("malformed complex")
            real, imag = (self._dec(p, depth + 1) for p in payload)
            if type(real) is not float or type(imag) is not float:
                raise ChannelError("malformed complex")
            return complex(real, imag)
        if tag == "__ndarray__":
            return decode_array(payload, self)
        if tag == "__npscalar__":
            array = decode_array(payload, self)
            if array.ndim != 0:
                raise ChannelError("malformed numpy scalar")
            return array[()]
        if tag == "__tuple__":
            if type(payload) is not list:
                raise ChannelError("malformed tuple")
            return tuple(self._dec(v, depth + 1) for v in payload)
        if tag == "__dict__":
            if type(payload) is not list:
                raise ChannelError("malformed dict")
            out = {}
            for item in payload:
                if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
                    raise ChannelError("malformed dict")
                out[item[0]] = self._dec(item[1], depth + 1)
            return out
        if tag == "__rng__":
            return self._dec_rng(payload, depth)
        if tag == "__callable__":
            if type(payload) is not int or self.make_proxy is None:
                raise ChannelError("malformed callable")
            return self.make_proxy(payload)
        raise ChannelError(f"unknown tag {tag!r}")

    def _dec_rng(self, payload, depth):
        if type(payload) is not dict or payload.get("bit_generator") not in BIT_GENERATORS:
            raise ChannelError("malformed generator")
        bitgen = getattr(np.random, payload["bit_generator"])()
        state = self._dec(payload.get("state"), depth + 1)
        try:
            bitgen.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise ChannelError(f"invalid generator state: {exc}") from exc
        rng = np.random.Generator(bitgen)
        self.received_rngs.append((payload.get("tag"), rng))
        return rng


# --------------------------------------------------------------------------- transport


class Pipe:
    """JSON lines over two file descriptors, with deadlines and a size cap."""

    def __init__(self, read_fd, write_fd, max_bytes=MAX_MESSAGE_BYTES):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._lines = []
        os.set_blocking(write_fd, False)

    def send(self, message, deadline=None):
        """Write one message; raises ChannelTimeout or ChannelClosed."""
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
        if len(data) > self.max_bytes:
            raise ChannelError(f"message of {len(data)} bytes exceeds {self.max_bytes}")
        view = memoryview(data + b"\n")
        while view:
            _, writable, _ = select.select([], [self.write_fd], [], _remaining(deadline))
            if not writable:
                raise ChannelTimeout("timed out sending")
            try:
                written = os.write(self.write_fd, view[: 1 << 16])
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError) as exc:
                raise ChannelClosed("the other end closed the channel") from exc
            view = view[written:]

    def recv(self, deadline=None):
        """Read one message (a dict); raises ChannelTimeout, ChannelClosed or ChannelError."""
        while not self._lines:
            readable, _, _ = select.select([self.read_fd], [], [], _remaining(deadline))
            if not readable:
                raise ChannelTimeout("timed out waiting for a message")
            try:
                chunk = os.read(self.read_fd, 1 << 20)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    continue
                raise ChannelClosed("the other end closed the channel") from exc
            if not chunk:
                raise ChannelClosed("the other end closed the channel")
            # Split only the new chunk: re-splitting the whole buffer on every 64 KiB
            # read costs quadratic time on a large message.
            if b"\n" in chunk:
                head, *lines, rest = chunk.split(b"\n")
                self._buffer += head
                self._lines.append(bytes(self._buffer))
                self._lines.extend(lines)
                self._buffer = bytearray(rest)
            else:
                self._buffer += chunk
            if len(self._buffer) > self.max_bytes:
                raise ChannelError(f"message exceeds {self.max_bytes} bytes")
        line = self._lines.pop(0)
        if len(line) > self.max_bytes:
            raise ChannelError(f"message exceeds {self.max_bytes} bytes")
        if json_depth(line) > MAX_JSON_DEPTH:
            raise ChannelError(f"invalid message: nested deeper than {MAX_JSON_DEPTH}")
        try:
            message = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ChannelError(f"invalid message: {type(exc).__name__}") from None
        if type(message) is not dict:
            raise ChannelError("invalid message: not an object")
        return message


_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_depth(data):
    """Deepest bracket nesting in the JSON text ``data`` (bytes), strings skipped.

    Checked before ``json.loads``, which recurses once per level and would otherwise
    turn a small deeply nested message into a RecursionError in the grader.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than the number of openers
    depth = deepest = 0
    for match in _JSON_TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


@contextlib.contextmanager
def memory_budget(extra_bytes):
    """Let this process allocate at most ``extra_bytes`` more private memory (a
    temporary lower soft ``RLIMIT_DATA``); past it allocations raise MemoryError, which
    the served call reports to the other side instead of the grader swelling.
    ``None`` or a platform without /proc: no budget."""
    if extra_bytes is None:
        yield
        return
    try:
        with open("/proc/self/status") as f:
            used = next(int(line.split()[1]) << 10 for line in f if line.startswith("VmData:"))
    except (OSError, StopIteration, ValueError):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = used + extra_bytes
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY:
        wanted = min(wanted, soft)  # a budget inside a budget never widens it
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def _remaining(deadline):
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


# --------------------------------------------------------------------------- peers


class Peer:
    """One end of the channel: makes requests and serves the other end's requests.

    Requests are ``{"kind": "call", "id", "target", "args", "kwargs"}`` (target is
    ``{"name": global}`` or ``{"handle": id}``) and ``{"kind": "get", "id", "name"}``;
    replies are ``{"kind": "reply", "id", "ok", "value" | "error", "rngs"}``. While a
    request waits for its reply, requests from the other side (callbacks) are served,
    so calls can nest in both directions.
    """

    max_call_elements = MAX_ELEMENTS
    """Array elements the arguments of a call served here may hold."""

    call_memory_budget = None
    """Extra memory (bytes) a call served here may allocate (None: no budget)."""

    def __init__(self, pipe, resolve_name=None):
        self.pipe = pipe
        self.resolve_name = resolve_name or (lambda name: None)
        self._exported = {}
        self._ids = itertools.count(1)
        self._handles = itertools.count(1)

    # exported callables (those we hand out; the other side calls them back)
    def export(self, fn):
        handle = next(self._handles)
        self._exported[handle] = fn
        return handle

    def proxy(self, handle):
        """A local callable for the other side's exported callable ``handle``."""
        return RemoteFunction(self, {"handle": handle}, f"<remote callable {handle}>")

    def codec(self, max_elements=MAX_ELEMENTS):
        return Codec(
            export=self.export,
            make_proxy=self.proxy,
            max_elements=max_elements,
            max_bytes=self.pipe.max_bytes,
        )

    def request(self, message, deadline=None):
        """Send a request and return the decoded reply value (raise on remote error)."""
        message = dict(message, id=next(self._ids))
        self.pipe.send(message, deadline)
        while True:
            incoming = self.pipe.recv(deadline)
            if incoming.get("kind") == "reply":
                if incoming.get("id") != message["id"]:
                    raise ChannelError("reply to an unknown request")
                return incoming
            self.serve_one(incoming, deadline)

    def call(self, target, args, kwargs, deadline=None):
        codec = self.codec()
        payload = {
            "kind": "call",
            "target": target,
            "args": codec.encode(list(args)),
            "kwargs": codec.encode(dict(kwargs)),
        }
        reply = self.request(payload, deadline)
        return self._unpack(reply, codec)

    def get(self, name, deadline=None):
        return self._unpack(self.request({"kind": "get", "name": name}, deadline), self.codec())

    def _unpack(self, reply, sent_codec):
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise remote_exception(
                str(error.get("type", "Exception"))[:100], str(error.get("message", ""))[:2000]
            )
        codec = self.codec()
        value = codec.decode(reply.get("value"))
        self._sync_rngs(reply.get("rngs"), sent_codec)
        return value

    def _sync_rngs(self, states, sent_codec):
        """Bring generators we passed in up to the state the other side left them in."""
        if not isinstance(states, list):
            return
        codec = Codec()
        for item in states:
            if type(item) is not list or len(item) != 2 or type(item[0]) is not int:
                continue
            tag, state = item
            if 0 <= tag < len(sent_codec.sent_rngs):
                try:
                    sent_codec.sent_rngs[tag].bit_generator.state = codec.decode(state)
                except (ChannelError, TypeError, ValueError, KeyError):
                    pass

    # serving
    def serve_one(self, message, deadline=None):
        """Handle one request from the other side and send its reply."""
        kind, msg_id = message.get("kind"), message.get("id")
        codec = self.codec(self.max_call_elements)
        try:
            with memory_budget(self.call_memory_budget):
                if kind == "call":
                    fn = self._target(message.get("target"))
                    # args and kwargs count against one budget: kwargs go on the same counters
                    args = codec.decode(message.get("args"))
                    kwargs = codec._dec(message.get("kwargs"), 0)
                    if type(args) is not list or type(kwargs) is not dict:
                        raise ChannelError("malformed call")
                    value = fn(*args, **kwargs)
                elif kind == "get":
                    value = self.resolve_name(str(message.get("name")))
                else:
                    raise ChannelError(f"unknown request {kind!r}")
                # the result is size-checked while it is encoded, before any JSON exists
                reply = {
                    "kind": "reply",
                    "id": msg_id,
                    "ok": True,
                    "value": self.codec().encode(value),
                }
                reply["rngs"] = [
                    [tag, Codec().encode(rng.bit_generator.state)]
                    for tag, rng in codec.received_rngs
                    if type(tag) is int
                ]
        except (ChannelClosed, ChannelTimeout):
            raise
        except BaseException as exc:  # noqa: BLE001 - report anything the callee raised
            reply = {
                "kind": "reply",
                "id": msg_id,
                "ok": False,
                "error": {"type": type(exc).__name__, "message": str(exc)[:2000]},
            }
        self.pipe.send(reply, deadline)

    def _target(self, target):
        if type(target) is not dict:
            raise ChannelError("malformed call target")
        if "handle" in target:
            fn = self._exported.get(target["handle"])
        else:
            fn = self.resolve_name(str(target.get("name")))
        if not callable(fn):
            raise TypeError(f"{target} is not callable")
        return fn


class RemoteFunction:
    """A local stand-in for a function that lives on the other side of the channel."""

    def __init__(self, peer, target, name, deadline_fn=None):
        self._peer = peer
        self._target = target
        self.__name__ = name
        self._deadline_fn = deadline_fn or getattr(peer, "deadline", None)

    def __call__(self, *args, **kwargs):
        deadline = self._deadline_fn() if self._deadline_fn else None
        return self._peer.call(self._target, args, kwargs, deadline)

    def __repr__(self):
        return f"<student function {self.__name__}>"
