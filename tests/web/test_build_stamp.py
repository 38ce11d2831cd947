"""`studyhall build-web` rebuilds only when an input of the build changed."""

from __future__ import annotations

from pathlib import Path

from studyhall import web_build


def laid_out(root: Path) -> Path:
    web = root / "web"
    (web / "src").mkdir(parents=True)
    (web / "src" / "main.tsx").write_text("render()")
    (web / "index.html").write_text("<div id=root></div>")
    (web / "package-lock.json").write_text("{}")
    (web / "dist").mkdir()
    (web / "dist" / "index.html").write_text("built")
    (web / web_build.STAMP).write_text(web_build.sources_digest(web))
    return web


def test_a_build_of_the_current_sources_is_current(tmp_path: Path) -> None:
    assert web_build.is_current(laid_out(tmp_path))


def test_a_changed_source_lockfile_or_new_file_needs_a_build(tmp_path: Path) -> None:
    for change in (
        lambda web: (web / "src" / "main.tsx").write_text("render(2)"),
        lambda web: (web / "package-lock.json").write_text('{"lockfileVersion": 3}'),
        lambda web: (web / "src" / "new.ts").write_text("export {}"),
        lambda web: (web / "index.html").unlink(),
    ):
        web = laid_out(tmp_path / str(id(change)))
        change(web)
        assert not web_build.is_current(web)


def test_a_missing_build_or_stamp_needs_a_build(tmp_path: Path) -> None:
    web = laid_out(tmp_path / "a")
    (web / "dist" / "index.html").unlink()
    assert not web_build.is_current(web)
    web = laid_out(tmp_path / "b")
    (web / web_build.STAMP).unlink()
    assert not web_build.is_current(web)


def test_outputs_do_not_count_as_inputs(tmp_path: Path) -> None:
    web = laid_out(tmp_path)
    (web / "dist" / "assets").mkdir()
    (web / "dist" / "assets" / "index-1.js").write_text("x")
    (web / "node_modules").mkdir()
    (web / "node_modules" / "pkg.js").write_text("x")
    assert web_build.is_current(web)
