"""Catalog: courses, modules, lessons and lesson versions."""
