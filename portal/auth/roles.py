"""Who is who: the kinds of account and the staff roles."""

from enum import StrEnum


class Kind(StrEnum):
    STAFF = "staff"
    CLIENT = "client"


class Role(StrEnum):
    ADMIN = "admin"
    SALES_MANAGER = "sales_manager"
    SPEC_COORDINATOR = "spec_coordinator"
    DESIGNER = "designer"
    CREDIT_CONTROLLER = "credit_controller"
    NEGOTIATOR = "negotiator"
    CLIENT = "client"


STAFF_ROLES = tuple(r for r in Role if r is not Role.CLIENT)
