"""The LR Range panel's static files (ES modules), served by the plugin."""
