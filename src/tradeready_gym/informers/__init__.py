"""Informers: fill the ``info`` dict of each step."""

from tradeready_gym.informers.informers import INFO_KEYS, DefaultInformer, Informer, fill_to_dict

__all__ = ["INFO_KEYS", "DefaultInformer", "Informer", "fill_to_dict"]
