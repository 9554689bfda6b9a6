"""Checks: each looks at one aspect (files, images, labels, splits) and returns findings or issues."""
