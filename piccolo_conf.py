"""Piccolo's configuration: the engine comes from DATABASE_URL (default: var/portal.sqlite)."""

from piccolo.conf.apps import AppRegistry

from portal.db import database_url_from_env, engine_for

DB = engine_for(database_url_from_env())

APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
