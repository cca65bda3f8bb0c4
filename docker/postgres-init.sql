-- One database per server: the hub and each city node own their data.
CREATE DATABASE xingyi_hub;
CREATE DATABASE xingyi_yuncheng;
CREATE DATABASE xingyi_linfen;
