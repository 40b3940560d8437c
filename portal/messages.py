"""N_ marks a message for extraction without translating it: pure rules return message ids,
and the page that shows them translates with gettext (make messages-extract knows N_)."""


def N_(message: str) -> str:
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """A plural message marked for extraction (make messages-extract knows NP_:1,2)."""
    return singular, plural
