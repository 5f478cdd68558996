"""Departments, users and roles."""
