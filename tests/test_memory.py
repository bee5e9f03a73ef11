"""core.memory: returning freed heap pages to the system."""
from sen2cor_qgis.core.memory import release_memory


def test_release_memory_runs_and_says_whether_it_could():
    import platform

    done = release_memory()
    assert isinstance(done, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert done


def test_malloc_arenas_are_capped_unless_the_environment_says(monkeypatch):
    from sen2cor_qgis.core import memory

    calls = []

    class FakeLibc:
        def malloc_trim(self, pad):
            return 1

        def mallopt(self, param, value):
            calls.append((param, value))
            return 1
    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc())
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_malloc_arenas() is True
    assert calls == [(memory.M_ARENA_MAX, 2)]
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False and len(calls) == 1
