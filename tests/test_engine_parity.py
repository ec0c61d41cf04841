"""The two engines expose one API: the same names, the same signatures, the same Framer attributes."""

import inspect

import pytest
from engines import engine_modules

from asynchat import _settings


@pytest.fixture(scope="module")
def engines():
    modules = engine_modules()
    if "cython" not in modules:
        pytest.skip("compiled engine not built here")
    return modules["cython"], modules["python"]


def public(names):
    return sorted(name for name in names if not name.startswith("_"))


def parameters(function):
    """Names, kinds and defaults after self: the compiled engine's self is positional-only."""
    found = list(inspect.signature(function).parameters.values())
    if found and found[0].name == "self":
        found = found[1:]
    return [(p.name, p.kind, p.default) for p in found]


def test_the_same_names(engines):
    compiled, pure = engines
    assert compiled.__all__ == pure.__all__
    assert all(hasattr(compiled, name) and hasattr(pure, name) for name in pure.__all__)


@pytest.mark.parametrize("name", ["push", "push_with_producer", "initiate_send", "send_deferred", "find_prefix_at_end"])
def test_the_same_function_signatures(engines, name):
    compiled, pure = engines
    assert parameters(getattr(compiled, name)) == parameters(getattr(pure, name))


def test_the_same_framer_attributes_and_method_signatures(engines):
    compiled, pure = engines
    assert public(dir(compiled.Framer)) == public(dir(pure.Framer))
    methods = [name for name in public(dir(pure.Framer)) if inspect.isfunction(getattr(pure.Framer, name))]
    assert methods, "no methods found: the comparison would be empty"
    for name in methods:
        assert parameters(getattr(compiled.Framer, name)) == parameters(getattr(pure.Framer, name)), name
    # A new Framer holds the same public state on both engines.
    assert {n: getattr(compiled.Framer(), n) for n in public(dir(pure.Framer)) if n not in methods} == {
        n: getattr(pure.Framer(), n) for n in public(dir(pure.Framer)) if n not in methods
    }


class _Settings:
    """A consumer with water marks, for Framer.configure()."""

    ac_max_message_size = None
    ac_out_high_water = 100
    ac_out_low_water = 10


def test_the_same_flow_states():
    """PAUSED above the high mark, RESUMING at the low mark or on discard, as asynchat._settings names them."""
    for engine in engine_modules().values():
        framer = engine.Framer()
        framer.configure(_Settings())
        steps = [framer.flow]
        framer.count_output(150)
        steps.append(framer.flow)
        framer.sent(100, [b"still queued"])
        steps.append(framer.flow)  # 50 left: above the low mark, still paused
        framer.sent(45, [b"still queued"])
        steps.append(framer.flow)
        steps.append(framer.resume())  # the adapter is about to frame what waited
        steps.append(framer.flow)
        framer.count_output(500)
        framer.discard()
        steps.append(framer.flow)
        assert steps == [
            _settings.READING,
            _settings.PAUSED,
            _settings.PAUSED,
            _settings.RESUMING,
            True,
            _settings.READING,
            _settings.RESUMING,
        ], engine.__name__
