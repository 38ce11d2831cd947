"""Certificates: issued when an enrollment completes, rendered as PDF, verifiable by code."""
