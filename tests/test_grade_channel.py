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


@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 1.5, "héllo", [1, [2.0, "x"]], (1, (2, 3)), {"a": (1, None)},
    complex(1, -2), float("nan"), float("inf"),
])
def test_plain_round_trip(value):
    got = round_trip(value)
    if isinstance(value, float) and value != value:
        assert got != got
    else:
        assert got == value and type(got) is type(value)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int64", "uint16", "float32", ">f8",
                                   "complex128"])
def test_array_round_trip(dtype):
    array = np.arange(12).reshape(3, 4).astype(dtype)[:, ::2]   # non-contiguous, big-endian
    got = round_trip(array)
    assert got.shape == array.shape and np.array_equal(got, array)
    assert got.dtype.kind == array.dtype.kind and got.flags.writeable


def test_numpy_scalars_and_zero_d():
    assert round_trip(np.float32(2.5)) == np.float32(2.5)
    assert type(round_trip(np.int64(3))) is np.int64
    assert round_trip(np.array(4.0)).shape == ()


@pytest.mark.parametrize("bad", [np.array([object()]), np.array(["a"]), np.array([b"a"]),
                                 np.zeros(2, dtype=[("a", "f8")]), np.array(["2020"], "M8[D]")])
def test_dtype_whitelist_rejects(bad):
    with pytest.raises(channel.ChannelError):
        channel.Codec().encode(bad)


@pytest.mark.parametrize("wire", [
    {"__ndarray__": {"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}},
    {"__ndarray__": {"dtype": "<U1", "shape": [1], "data": "AAAAAA=="}},
    {"__ndarray__": {"dtype": "<f8", "shape": [2], "data": "AAAAAAAAAAA="}},   # size mismatch
    {"__pickle__": "gASVAAAAAAAAAAB9lC4="},
    {"__rng__": {"bit_generator": "os.system", "state": {}}},
    {"a": 1, "b": 2},
])
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
        assert "pickle" not in text.replace("never pickled", "").replace("Nothing is ever pickled", "")
