"""Slack's App Home: the page that shows a lead everything the bot does, and the modals
that configure digests, watches and the alerts from Slack (`../ARCHITECTURE.md`)."""
