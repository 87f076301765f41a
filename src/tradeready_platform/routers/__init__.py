"""One router per resource: auth, account, backtest, training, market (live: ``routers/live.py``)."""
