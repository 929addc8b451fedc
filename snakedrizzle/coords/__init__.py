"""coords"""
