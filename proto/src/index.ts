export * from './rules/model';
