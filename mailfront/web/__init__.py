"""
HTTP resources that adapt the renderers to twisted.web.
"""
