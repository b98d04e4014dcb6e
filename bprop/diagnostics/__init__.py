"""Checks and monitors: finite-difference gradient checks."""

from .gradcheck import GradcheckResult, gradcheck

__all__ = ["gradcheck", "GradcheckResult"]
