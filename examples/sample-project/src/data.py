import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def load_splits(path, target="churned"):
    df = pd.read_csv(path, parse_dates=["signup_date"])
    df = df.sort_values("signup_date")
    X = df.drop(columns=[target]).select_dtypes("number").values
    y = df[target].values

    scaler = StandardScaler()
    X = scaler.fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    return X_train, X_test, y_train, y_test, scaler
