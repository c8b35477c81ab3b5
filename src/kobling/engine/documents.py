"""Reading a transferred document back from the target, for the dashboard's download link."""

from __future__ import annotations

from kobling.engine.connectors import connection, target_for
from kobling.errors import PermanentError


def target_document(connection_id: int, document_id: str) -> tuple[str, bytes]:
    """``(file name, content)`` of the document as the target renders it (PDF, ODT, ...)."""
    target = target_for(connection(connection_id))
    read = getattr(target, "invoice_document", None)
    if read is None:
        raise PermanentError(
            "this accounting system does not hand out its documents to Kobling",
            "open the document in the accounting system itself, by the number shown",
        )
    name, content = read(document_id)
    return str(name), bytes(content)
