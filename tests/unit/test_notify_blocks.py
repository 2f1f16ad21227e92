"""A notice's Block Kit stays within Slack's limits however many changes a deploy makes."""

from __future__ import annotations

from dbaccess.notify import MAX_BLOCKS, Notice, blocks_of


def test_a_long_notice_is_cut_to_fifty_blocks_saying_how_many_more() -> None:
    lines = ["Your database access changed with the latest deploy:"]
    lines += [f"• You now have read-only on *db{n:02d}*." for n in range(80)]

    blocks = blocks_of(Notice("a@example.com", "\n".join(lines)))

    assert len(blocks) == MAX_BLOCKS
    assert blocks[-1]["text"]["text"] == "… and 32 more changes."
    assert blocks[1]["text"]["text"] == "• You now have read-only on *db00*."
