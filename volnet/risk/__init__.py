"""The risk picture: public crisis lists (rounds), screening, an explainable score and isolation tiers."""
