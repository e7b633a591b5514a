"""UI and report strings in zh-CN and en."""
