import numpy as np
import torch
import typer
from torch.utils.data import DataLoader, TensorDataset

from config import load_config
from data import load_splits
from model import ChurnNet


def evaluate(model, loader):
    correct, total = 0, 0
    for xb, yb in loader:
        preds = model(xb.cuda())
        correct += ((preds > 0.5).float().cpu() == yb).sum().item()
        total += len(yb)
    return correct / total


def main(config_path: str = "configs/train.yaml", lr: float = 1e-3, epochs: int = 20):
    cfg = load_config(config_path)
    X_train, X_test, y_train, y_test, scaler = load_splits(cfg["experiment"]["data"]["path"])
    train_ds = TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train, dtype=torch.float32))
    test_ds = TensorDataset(torch.tensor(X_test, dtype=torch.float32), torch.tensor(y_test, dtype=torch.float32))
    train_loader = DataLoader(train_ds, batch_size=64)
    test_loader = DataLoader(test_ds, batch_size=256)

    model = ChurnNet(X_train.shape[1]).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = torch.nn.BCEWithLogitsLoss()

    for epoch in range(epochs):
        for xb, yb in train_loader:
            loss = criterion(model(xb.cuda()), yb.cuda())
            loss.backward()
            optimizer.zero_grad()
            optimizer.step()
        acc = evaluate(model, test_loader)
        print(f"epoch {epoch}: val_loss={loss.item():.4f} acc={acc:.3f}")

    weights = model.body[0].weight.numpy()
    np.save("weights.npy", weights)


if __name__ == "__main__":
    typer.run(main)
