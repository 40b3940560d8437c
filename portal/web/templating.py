"""The Jinja environment: i18n extension, Babel formatters as filters, shared globals."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine as Engine
from litestar.template.config import TemplateConfig

from portal.audit import labels as audit_labels
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.statements import rules as statement_rules
from portal.billing.stripe.tables import AttemptStatus
from portal.clients.todo import Kind as TodoKind
from portal.dunning.engine.tables import ActionStatus
from portal.dunning.escalation.rules import EscalationState
from portal.dunning.escalation.tables import PauseKind
from portal.dunning.letters.case_file import ACTION_STATUS_LABELS
from portal.dunning.letters.tables import LetterStatus
from portal.mail.tables import EmailStatus
from portal.negotiation.links.rules import LinkState
from portal.negotiation.tables import DisputeResolution, DisputeStatus, ScheduleStatus
from portal.orders.rules import BEFORE_PRODUCTION, STAGE_LABELS
from portal.orders.tables import SpecStatus, Stage
from portal.settings import ROOT, Settings
from portal.tasks import rules as task_rules
from portal.web import i18n, local_input, words as audit_words
from portal.web.escaping import PortalEnvironment, link_paths
from portal.web.flash import take_flashes
from portal.web.static import StaticFiles

TEMPLATE_DIR = ROOT / "templates"


def build_environment(settings: Settings, static_files: StaticFiles | None = None) -> Environment:
    env = PortalEnvironment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=not settings.production,  # in production a template is read once, not stat()ed on every use
    )
    env.install_gettext_callables(i18n.translate, i18n.translate_plural, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_=i18n.template_gettext, ngettext=i18n.template_ngettext, pgettext=i18n.template_pgettext)  # the same, with fewer calls
    env.filters.update(
        money=i18n.format_money,
        date=i18n.format_date,
        datetime=i18n.format_datetime,
        weekday_date=i18n.format_weekday_date,
        time=i18n.format_time,
        html_datetime=i18n.html_datetime,  # <time datetime="{{ x|html_datetime }}">
        number=i18n.format_number,
        percent_bp=i18n.format_percent_bp,
        timedelta=i18n.format_timedelta,
        translate=i18n.gettext,
        standing_words=lambda s: i18n.words(*statement_rules.standing_message(s)),
        link_paths=link_paths,
        date_input=local_input.date_input_value,
        data=i18n.data_words,
    )
    static_files = static_files or StaticFiles(ROOT / "static", watch=not settings.production)
    env.globals.update(
        take_flashes=take_flashes,
        static_url=static_files.url,  # /static/css/portal.<hash>.css: cached for a year (portal.web.static)
        firm_name=settings.firm_name,
        firm_address=settings.firm_address,
        firm_tax_id=settings.firm_tax_id,
        firm_registration=settings.firm_registration,
        language_names=i18n.LANGUAGE_NAMES,
        current_language=i18n.current_language,
        production=settings.production,
        takes_payments=settings.takes_payments,
        stage_labels=STAGE_LABELS,
        before_production_stages=tuple(stage.value for stage in BEFORE_PRODUCTION),
        audit_label=audit_labels.label,
        audit_field=audit_words.field_label,
        audit_value=audit_words.value_text,
        audit_changed=audit_words.changed,
        stored_text=audit_words.stored_text,
        action_status_labels=ACTION_STATUS_LABELS,
        date_attrs=local_input.date_attributes,
        # templates compare states by name, not by the stored string (a StrEnum equals its value)
        InvoiceStatus=InvoiceStatus,
        InvoiceKind=InvoiceKind,
        AttemptStatus=AttemptStatus,
        EmailStatus=EmailStatus,
        ActionStatus=ActionStatus,
        EscalationState=EscalationState,
        PauseKind=PauseKind,
        LetterStatus=LetterStatus,
        Stage=Stage,
        SpecStatus=SpecStatus,
        ScheduleStatus=ScheduleStatus,
        DisputeStatus=DisputeStatus,
        DisputeResolution=DisputeResolution,
        TodoKind=TodoKind,
        LinkState=LinkState,
        task_may_act=lambda assignee, me: task_rules.may_act(assignee, me.id, me.is_admin),
    )
    return env


def template_config(settings: Settings, static_files: StaticFiles | None = None) -> TemplateConfig:
    return TemplateConfig(instance=Engine.from_environment(build_environment(settings, static_files)))
