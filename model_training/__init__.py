"""Training the digit recognizer that digitize ships: data, search space, grid search,
final training, evaluation and export."""
