import lightning as L
import torch


class Classifier(L.LightningModule):
    def __init__(self, lr):
        super().__init__()
        self.lr = lr
        self.layer = torch.nn.Linear(16, 2)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)
