import pytest

from metakb.bench.render import BEGIN, END, begin_marker, end_marker, fill_page


def test_single_block_page_keeps_its_prose(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"# T\n\nIntro.\n\n{BEGIN}\nold\n{END}\n\nNotes.\n")
    fill_page(page, "new\n", title="ignored")
    assert page.read_text() == f"# T\n\nIntro.\n\n{BEGIN}\nnew\n{END}\n\nNotes.\n"


def test_new_single_block_page(tmp_path):
    page = tmp_path / "page.md"
    fill_page(page, "table", title="T")
    assert page.read_text() == f"# T\n\n{BEGIN}\ntable\n{END}\n"


def test_named_blocks_fill_in_place(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        f"# T\n\n{begin_marker('a')}\nx\n{end_marker('a')}\n\nProse.\n\n"
        f"{begin_marker('b')}\ny\n{end_marker('b')}\n"
    )
    fill_page(page, {"a": "one", "b": "two"}, title="ignored")
    assert page.read_text() == (
        f"# T\n\n{begin_marker('a')}\none\n{end_marker('a')}\n\nProse.\n\n"
        f"{begin_marker('b')}\ntwo\n{end_marker('b')}\n"
    )


def test_inline_block_is_filled_inline(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"# T\n\n- {begin_marker('n')}7{end_marker('n')} datasets agree.\n")
    fill_page(page, {"n": "20 of 26\n"}, title="T")
    assert page.read_text() == (
        f"# T\n\n- {begin_marker('n')}20 of 26{end_marker('n')} datasets agree.\n"
    )


def test_new_page_with_named_blocks(tmp_path):
    page = tmp_path / "page.md"
    fill_page(page, {"a": "one", "b": "two"}, title="T")
    text = page.read_text()
    assert text.startswith("# T\n\n") and text.index("one") < text.index("two")
    fill_page(page, {"a": "1", "b": "2"}, title="T")
    assert "one" not in page.read_text() and "2" in page.read_text()


def test_missing_marker_is_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"# T\n\n{begin_marker('a')}\nx\n{end_marker('a')}\n")
    with pytest.raises(ValueError, match="markers"):
        fill_page(page, {"a": "one", "b": "two"}, title="T")
    assert "x" in page.read_text()  # nothing written
    with pytest.raises(ValueError, match="markers"):
        fill_page(page, "one", title="T")
