"""
Tests of mailfront, run with trial.
"""
