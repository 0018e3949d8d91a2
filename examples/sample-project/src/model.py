import torch
import torch.nn as nn


class ChurnNet(nn.Module):
    def __init__(self, n_features, hidden=128, dropout=0.1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x):
        return torch.sigmoid(self.body(x)).squeeze(-1)
