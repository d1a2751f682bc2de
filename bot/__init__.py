"""A Slack bot that brings contact-center CSAT and agent availability to team leads."""

__version__ = "0.1.0"
