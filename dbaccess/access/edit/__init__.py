"""Editing access.yaml as text: only the removed entries' lines change.

tree.py reads the YAML with every node's place in the text, text.py deletes spans,
owners.py reads people and groups from the tree, expire.py decides what `dbaccess expire`
removes, add.py adds one grant (what a Slack access request proposes).
"""

from dbaccess.access.edit.add import add_grant
from dbaccess.access.edit.expire import Expiry, GrantId, Kept, Removal, expire_grants
from dbaccess.access.edit.text import EditError

__all__ = ["EditError", "Expiry", "GrantId", "Kept", "Removal", "add_grant", "expire_grants"]
