"""Channel unit tests: round trips, the dtype whitelist, size caps, no pickle anywhere."""

import json
import os
import pathlib

import numpy as np
import pytest

from autograder import channel

AUTOGRADER = pathlib.Path(channel.__file__).parent


def round_trip(value):
    codec = channel.Codec(export=lambda fn: 1, make_proxy=lambda h: ("proxy", h))
    wire = json.loads(json.dumps(codec.encode(value), allow_nan=False))
    return channel.Codec(make_proxy=lambda h: ("proxy", h)).decode(wire)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -(2**70),
        1.5,
        "héllo",
        [1, [2.0, "x"]],
        (1, (2, 3)),
        {"a": (1, None)},
        complex(1, -2),
        float("nan"),
        float("inf"),
    ],
)
def test_plain_round_trip(value):
    got = round_trip(value)
    if isinstance(value, float) and value != value:
        assert got != got
    else:
        assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "int64", "uint16", "float32", ">f8", "complex128"]
)
def test_array_round_trip(dtype):
    array = np.arange(12).reshape(3, 4).astype(dtype)[:, ::2]  # non-contiguous, big-endian
    got = round_trip(array)
    assert got.shape == array.shape and np.array_equal(got, array)
    assert got.dtype.kind == array.dtype.kind and got.flags.writeable


def test_numpy_scalars_and_zero_d():
    assert round_trip(np.float32(2.5)) == np.float32(2.5)
    assert type(round_trip(np.int64(3))) is np.int64
    assert round_trip(np.array(4.0)).shape == ()


@pytest.mark.parametrize(
    "bad",
    [
        np.array([object()]),
        np.array(["a"]),
        np.array([b"a"]),
        np.zeros(2, dtype=[("a", "f8")]),
        np.array(["2020"], "M8[D]"),
    ],
)
def test_dtype_whitelist_rejects(bad):
    with pytest.raises(channel.ChannelError):
        channel.Codec().encode(bad)


@pytest.mark.parametrize(
    "wire",
    [
        {"__ndarray__": {"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}},
        {"__ndarray__": {"dtype": "<U1", "shape": [1], "data": "AAAAAA=="}},
        {"__ndarray__": {"dtype": "<f8", "shape": [2], "data": "AAAAAAAAAAA="}},  # size mismatch
        {"__pickle__": "gASVAAAAAAAAAAB9lC4="},
        {"__rng__": {"bit_generator": "os.system", "state": {}}},
        {"a": 1, "b": 2},
    ],
)
def test_decode_rejects_forged_values(wire):
    with pytest.raises(channel.ChannelError):
        channel.Codec().decode(wire)


def test_unknown_objects_are_refused():
    class Thing:
        pass

    with pytest.raises(channel.ChannelError):
        channel.Codec().encode(Thing())
    with pytest.raises(channel.ChannelError):
        channel.Codec().encode({1: "non-string key"})


def test_depth_and_size_caps():
    deep = []
    for _ in range(channel.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(channel.ChannelError):
        channel.Codec().encode(deep)
    with pytest.raises(channel.ChannelError):
        channel.Codec().encode("x" * (channel.MAX_STRING + 1))


def test_generator_round_trip_keeps_the_stream():
    for bitgen in ("PCG64", "MT19937", "Philox", "SFC64"):
        rng = np.random.Generator(getattr(np.random, bitgen)(5))
        rng.normal()
        copy = round_trip(rng)
        assert copy.normal() == rng.normal()


def test_pipe_messages_and_caps():
    r1, w1 = os.pipe()
    sender, receiver = channel.Pipe(r1, w1, max_bytes=1000), channel.Pipe(r1, w1, max_bytes=1000)
    sender.send({"kind": "x", "v": [1, 2]})
    assert receiver.recv(deadline=None) == {"kind": "x", "v": [1, 2]}
    with pytest.raises(channel.ChannelError):
        sender.send({"v": "y" * 2000})
    os.write(w1, b"not json\n")
    with pytest.raises(channel.ChannelError):
        receiver.recv()
    os.write(w1, b"[1, 2]\n")
    with pytest.raises(channel.ChannelError):
        receiver.recv()
    os.write(w1, b"z" * 1500)
    with pytest.raises(channel.ChannelError):
        receiver.recv()
    with pytest.raises(channel.ChannelTimeout):
        channel.Pipe(*os.pipe()).recv(deadline=0)
    os.close(r1)
    os.close(w1)


def test_remote_exceptions_keep_builtin_types():
    exc = channel.remote_exception("ValueError", "bad")
    assert isinstance(exc, ValueError) and isinstance(exc, channel.RemoteError)
    assert not isinstance(channel.remote_exception("SystemExit", "0"), SystemExit)
    assert type(channel.remote_exception("__import__('os')", "x")).__mro__[1] is channel.RemoteError


def test_no_pickle_anywhere():
    for path in AUTOGRADER.glob("*.py"):
        text = path.read_text()
        for word in ("pickle", "marshal", "shelve", "dill", "eval("):
            assert f"import {word}" not in text and "pickle.load" not in text, (path, word)
    for name in ("channel.py", "harness.py"):
        text = (AUTOGRADER / name).read_text()
        assert "pickle" not in text.replace("never pickled", "").replace(
            "Nothing is ever pickled", ""
        )


# --------------------------------------------------------------------------- bounded work


class RecordingPipe:
    """Stands in for a Pipe on the serving side: keeps what would be sent."""

    def __init__(self, max_bytes=channel.MAX_MESSAGE_BYTES):
        self.max_bytes = max_bytes
        self.sent = []

    def send(self, message, deadline=None):
        self.sent.append(message)


def serve(peer_class, fn, *args, max_bytes=channel.MAX_MESSAGE_BYTES):
    """Have a peer of ``peer_class`` serve one call of ``fn`` with ``args`` encoded as
    the other side would send them; return the reply it sent."""
    pipe = RecordingPipe(max_bytes)
    peer = peer_class(pipe)
    handle = peer.export(fn)
    wire = json.loads(json.dumps(channel.Codec(max_elements=1 << 40).encode(list(args))))
    peer.serve_one(
        {
            "kind": "call",
            "id": 7,
            "target": {"handle": handle},
            "args": wire,
            "kwargs": {"__dict__": []},
        }
    )
    (reply,) = pipe.sent
    assert reply["id"] == 7
    return reply


class GraderPeer(channel.Peer):
    max_call_elements = channel.MAX_CALLBACK_ELEMENTS
    call_memory_budget = channel.CALLBACK_MEMORY_BUDGET


def test_zero_length_axes_count_as_work():
    assert channel.array_work((2**25, 0)) == 2**25
    wire = channel.encode_array(np.zeros((2**25, 0)))
    assert len(json.dumps(wire)) < 100  # a tiny message ...
    with pytest.raises(channel.ChannelError, match="too large"):
        channel.decode_array(wire["__ndarray__"])  # ... refused as 2**25 of work


def test_callback_arguments_are_capped_before_the_callback_runs():
    calls = []
    reply = serve(
        GraderPeer,
        lambda x: calls.append(x) or x.shape,
        np.zeros((channel.MAX_CALLBACK_ELEMENTS + 1, 0)),
    )
    assert not reply["ok"] and "elements" in reply["error"]["message"] and not calls
    small = serve(GraderPeer, lambda x: x.sum(), np.ones((4, 3)))
    assert small["ok"] and channel.Codec().decode(small["value"]) == 12


def test_callback_arguments_of_many_small_arrays_add_up():
    pieces = [np.zeros(1 << 16, dtype=bool) for _ in range(17)]  # 17 x 64 Ki elements
    reply = serve(GraderPeer, lambda *xs: len(xs), *pieces)
    assert not reply["ok"] and "elements" in reply["error"]["message"]


def test_callback_result_is_size_checked_before_it_is_serialised(monkeypatch):
    encoded = []
    original = channel.base64.b64encode
    monkeypatch.setattr(
        channel.base64, "b64encode", lambda data: encoded.append(len(data)) or original(data)
    )
    reply = serve(GraderPeer, lambda n: np.ones(n, dtype=np.uint8), 2 << 20, max_bytes=1 << 20)
    assert not reply["ok"] and "MiB" in reply["error"]["message"]
    assert not encoded  # no base64 of the 2 MiB was built
    assert len(json.dumps(reply)) < 1000


def test_callbacks_run_under_a_memory_budget():
    import psutil

    before = psutil.Process().memory_info().rss
    reply = serve(GraderPeer, lambda n: int(np.ones(n, dtype=np.uint8).sum()), 4 << 30)
    assert not reply["ok"] and reply["error"]["type"] == "MemoryError"
    assert psutil.Process().memory_info().rss - before < 256 << 20
    # the budget is lifted afterwards: the grader itself can allocate again
    assert np.ones(600 << 20, dtype=np.uint8)[-1] == 1


def test_deep_json_is_a_channel_error_not_a_recursion_error():
    import threading
    import time

    read_fd, write_fd = os.pipe()  # the other side writes here (blocking, a thread)
    reply_r, reply_w = os.pipe()
    messages = [
        b'{"kind": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n",
        # brackets inside strings are text, not nesting
        json.dumps({"kind": "x", "s": "[" * 5000 + '\\"{'}).encode() + b"\n",
    ]
    writer = threading.Thread(target=lambda: [os.write(write_fd, m) for m in messages])
    try:
        pipe = channel.Pipe(read_fd, reply_w)
        writer.start()
        deadline = time.monotonic() + 30
        with pytest.raises(channel.ChannelError, match="nested deeper"):
            pipe.recv(deadline)
        assert pipe.recv(deadline)["s"].startswith("[[[")
    finally:
        writer.join(timeout=30)
        for fd in (read_fd, write_fd, reply_r, reply_w):
            os.close(fd)


def test_depth_prescan_matches_json():
    for text in [b'{"a": [[1], {"b": [2]}]}', b'["]]]]", ["[["]]', b'"\\\\"', b"[]"]:

        def depth(value):
            if isinstance(value, (list, dict)):
                children = value.values() if isinstance(value, dict) else value
                return 1 + max((depth(c) for c in children), default=0)
            return 0

        value = json.loads(text)
        assert channel.json_depth(text * 1) in (0, depth(value))
    assert channel.json_depth(b"[" * 500 + b"]" * 500) == 500


def test_forged_exception_names_never_raise_in_the_grader():
    for name in ["Bad\x00Name", "\udcff", "x" * 500, "a b"]:
        exc = channel.remote_exception(name, "msg")
        assert isinstance(exc, channel.RemoteError)
        assert exc.remote_type == "Exception"


def test_remote_stop_iteration_cannot_end_a_grader_loop():
    exc = channel.remote_exception("StopIteration", "early")
    assert not isinstance(exc, StopIteration)
