"""KeyFilter: never a false "no"; few false "maybe"s."""
from volnet.risk.keyfilter import KeyFilter


def test_added_keys_are_always_found_and_others_rarely():
    f = KeyFilter()
    added = [f"{i:032x}" for i in range(200_000)]
    f.add_all(added)
    assert all(k in f for k in added)
    others = [f"경기도의정부시송산로{i}층" for i in range(100_000)]
    assert sum(k in f for k in others) < 100  # expected about 9 (2 probes in 2**26 bits)
    assert "" not in KeyFilter()


def test_maybe_keeps_every_added_key():
    f = KeyFilter()
    f.add("a")
    f.add_all(["b", "c"])
    assert f.maybe(["a", "x", "b", "c"])[:1] == ["a"] and {"b", "c"} <= set(f.maybe(["b", "c", "y"]))
